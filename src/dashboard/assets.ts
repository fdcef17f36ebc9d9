import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { packagePath } from '../package-root.ts';

const gzipAsync = promisify(gzip);

/**
 * The dashboard's built files (dist/web/, written by `scripts/build.mjs` from web/), read for
 * serving. Only what the build writes is served: `index.html` and the flat `assets/` folder of
 * hashed file names; a name is checked against a strict pattern before it reaches the file
 * system, so no request can name a path outside the folder.
 */

/**
 * The folder the build writes the dashboard to, the same from src/ (a clone) and dist/ (a
 * package). Found when first asked for, not at import: a server given a folder of its own never
 * looks for the package's.
 */
export function defaultDashboardDir(): string {
  return packagePath('dist', 'web');
}

/** A file of the build, as sent. */
export interface DashboardFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** True when `body` is the gzip of the file. */
  readonly gzipped: boolean;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** Names the build gives its assets (`index-CncFLWRl.js`): one segment, no dot first, a known type. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** The content type of a served file name, or undefined for a type the dashboard never has. */
export function contentTypeOf(name: string): string | undefined {
  return CONTENT_TYPES[path.extname(name).toLowerCase()];
}

/** True when `name` may name a file of `assets/` (no separator, no `..`, a known type). */
export function isAssetName(name: string): boolean {
  return ASSET_NAME.test(name) && !name.includes('..') && contentTypeOf(name) !== undefined;
}

/** Types worth compressing (text); images and fonts are compressed already. */
const COMPRESSIBLE = /\.(html|m?js|css|json|svg|map)$/;

/**
 * Gzipped files, kept by path with the size and time of the file they were made from: each
 * file is compressed once per build, on its first request (the package ships no `.gz` twins).
 * Bounded by the build's few files.
 */
const gzipped = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly body: Buffer }>();

/**
 * Reads one file of the build, gzipped when the client accepts it and its type is text.
 * Undefined when the file is not there (not built, or an unknown asset).
 */
export async function readDashboardFile(
  dir: string,
  relative: string,
  acceptsGzip: boolean,
): Promise<DashboardFile | undefined> {
  const contentType = contentTypeOf(relative);
  if (contentType === undefined) return undefined;
  const file = path.join(dir, relative);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch {
    return undefined;
  }
  if (!info.isFile()) return undefined;
  if (acceptsGzip && COMPRESSIBLE.test(relative)) {
    const cached = gzipped.get(file);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      return { body: cached.body, contentType, gzipped: true };
    }
    const body = await readIfFile(file);
    if (!body) return undefined;
    const gz = await gzipAsync(body);
    gzipped.set(file, { size: info.size, mtimeMs: info.mtimeMs, body: gz });
    return { body: gz, contentType, gzipped: true };
  }
  const body = await readIfFile(file);
  return body ? { body, contentType, gzipped: false } : undefined;
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

/** True when an `Accept-Encoding` header value accepts gzip. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value
    .split(',')
    .map((part) => part.trim().split(';'))
    .some(([coding, ...params]) => {
      if (coding?.trim().toLowerCase() !== 'gzip' && coding?.trim() !== '*') return false;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return q === undefined || Number(q.slice(2)) > 0;
    });
}

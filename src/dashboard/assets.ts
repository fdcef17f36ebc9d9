import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The dashboard's built files (dist/web/, written by `scripts/build.mjs` from web/), read for
 * serving. Only what the build writes is served: `index.html` and the flat `assets/` folder of
 * hashed file names; a name is checked against a strict pattern before it reaches the file
 * system, so no request can name a path outside the folder.
 */

/** The folder the build writes the dashboard to, the same from src/ (a clone) and dist/ (a package). */
export const DEFAULT_DASHBOARD_DIR = path.resolve(import.meta.dirname, '..', '..', 'dist', 'web');

/** A file of the build, as sent. */
export interface DashboardFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** True when `body` is the gzip of the file (its `.gz` twin, written by the build). */
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

/**
 * Reads one file of the build, the `.gz` twin when the client accepts gzip and it exists.
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
  if (acceptsGzip) {
    const gz = await readIfFile(`${file}.gz`);
    if (gz) return { body: gz, contentType, gzipped: true };
  }
  const body = await readIfFile(file);
  return body ? { body, contentType, gzipped: false } : undefined;
}

async function readIfFile(file: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
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

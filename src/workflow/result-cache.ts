import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A stored node result. */
export interface CachedResult {
  readonly output: unknown;
  /** Epoch ms when it was stored. */
  readonly storedAt: number;
}

/**
 * Outputs of completed nodes by content key, so an identical node (same agent type, rendered
 * task, upstream outputs and schema) can reuse an earlier output instead of calling the model.
 * One JSON file per key under a folder; writes are atomic (temp file + rename). With a
 * `redactor`, outputs are stored with known secret values replaced.
 */
export class ResultCache {
  readonly #dir: string;
  readonly #redactor: { redact<T>(value: T): T } | undefined;

  constructor(dir: string, options: { redactor?: { redact<T>(value: T): T } } = {}) {
    this.#dir = dir;
    this.#redactor = options.redactor;
  }

  /** The stored result for `key` if it is younger than `ttlMs`. */
  async get(key: string, ttlMs: number, now = Date.now()): Promise<CachedResult | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.#file(key), 'utf8')) as CachedResult;
      return now - entry.storedAt <= ttlMs ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, output: unknown, now = Date.now()): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const file = this.#file(key);
    const temp = `${file}.${process.pid}.tmp`;
    const stored = this.#redactor ? this.#redactor.redact(output) : output;
    await writeFile(temp, JSON.stringify({ output: stored, storedAt: now } satisfies CachedResult));
    await rename(temp, file);
  }

  #file(key: string): string {
    return path.join(this.#dir, `${key}.json`);
  }
}

/** A stable key of the values that decide a node's result. */
export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/** JSON with object keys sorted, so equal values always serialize alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson, sha256Hex } from '../events/index.ts';

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
  return sha256Hex(canonicalJson(parts));
}

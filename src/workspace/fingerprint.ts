import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * A cheap answer to "did anything in this folder change since last time?", so a version of a
 * session whose files did not change costs no git process at all. It lists every entry under
 * the folder (but `.git`) with its size, times, inode and mode, read with nanosecond times.
 *
 * Like git's own index it cannot see a rewrite of a file within the granularity of the file
 * system's clock; like git it handles that by distrust: a folder where anything changed in the
 * last {@link RACY_MS} gives no fingerprint (null), so git looks at it. A folder with more than
 * {@link MAX_ENTRIES} entries gives none either: git's own scan, which skips ignored folders,
 * is then the cheaper one.
 */

/** Entries listed at most; beyond, no fingerprint. */
export const MAX_ENTRIES = 5000;
/** A change younger than this may hide another one in the same clock tick. */
export const RACY_MS = 100n;

/**
 * The fingerprint of a folder's contents, or null when it cannot be trusted (see above).
 * `skip`: a path relative to the folder (`/`-separated) left out with everything under it.
 */
export async function fingerprint(
  folder: string,
  now: () => bigint = () => BigInt(Date.now()),
  skip?: string,
): Promise<string | null> {
  const racyFrom = (now() - RACY_MS) * 1_000_000n;
  const parts: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop() as string;
    let names: string[];
    try {
      names = (await readdir(path.join(folder, relative))).sort();
    } catch {
      return null;
    }
    for (const name of names) {
      if (relative === '' && name === '.git') continue;
      if (parts.length >= MAX_ENTRIES) return null;
      const entry = relative === '' ? name : `${relative}/${name}`;
      if (entry === skip) continue;
      let stats: Awaited<ReturnType<typeof lstatBig>>;
      try {
        stats = await lstatBig(path.join(folder, entry));
      } catch {
        return null;
      }
      if (stats.mtimeNs >= racyFrom || stats.ctimeNs >= racyFrom) return null;
      parts.push(`${entry}\u0000${stats.mode}:${stats.size}:${stats.ino}:${stats.mtimeNs}:${stats.ctimeNs}`);
      if (stats.isDirectory()) pending.push(entry);
    }
  }
  return parts.join('\n');
}

function lstatBig(file: string) {
  return lstat(file, { bigint: true });
}

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

/**
 * Entries listed at most; beyond, no fingerprint. Each entry read costs 30-50 us of the thread
 * pool here (1,305 entries: 29-52 ms), while git's own look, skipping what is ignored, took
 * 14 ms plus its start: past about a thousand entries, git is the cheaper one.
 */
export const MAX_ENTRIES = 1000;
/** A change younger than this may hide another one in the same clock tick. */
export const RACY_MS = 100n;

/** What {@link fingerprint} gives for a folder of more than {@link MAX_ENTRIES} entries. */
export const TOO_LARGE = Symbol('more entries than a fingerprint lists');

/**
 * The fingerprint of a folder's contents, null when it cannot be trusted (see above), or
 * {@link TOO_LARGE}. `skip`: a path relative to the folder (`/`-separated) left out with
 * everything under it.
 */
export async function fingerprint(
  folder: string,
  now: () => bigint = () => BigInt(Date.now()),
  skip?: string,
): Promise<string | null | typeof TOO_LARGE> {
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
    const entries: string[] = [];
    for (const name of names) {
      const entry = relative === '' ? name : `${relative}/${name}`;
      if (entry !== skip && entry !== '.git') entries.push(entry);
    }
    // A directory's entries are counted before they are read: beside a large ignored folder
    // (node_modules) the fingerprint is given up sooner.
    if (parts.length + entries.length > MAX_ENTRIES) return TOO_LARGE;
    // A folder's entries read side by side: one at a time, each waited a trip through the
    // thread pool (40-50 us apiece here).
    let stats: Awaited<ReturnType<typeof lstatBig>>[];
    try {
      stats = await Promise.all(entries.map((entry) => lstatBig(path.join(folder, entry))));
    } catch {
      return null;
    }
    for (const [index, entry] of entries.entries()) {
      const stat = stats[index] as Awaited<ReturnType<typeof lstatBig>>;
      if (stat.mtimeNs >= racyFrom || stat.ctimeNs >= racyFrom) return null;
      parts.push(`${entry}\u0000${stat.mode}:${stat.size}:${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}`);
      if (stat.isDirectory()) pending.push(entry);
    }
  }
  return parts.join('\n');
}

function lstatBig(file: string) {
  return lstat(file, { bigint: true });
}

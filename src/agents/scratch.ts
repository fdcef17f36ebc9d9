import { mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * A TMPDIR of its own for each Claude Code process, inside the agents' TMPDIR. Claude Code's
 * sandbox (2.1.331) writes a settings file per configuration there (`claude-settings-<hash>.json`)
 * and removes it when done: two processes of one configuration (a fan-out of one agent type in
 * one workspace) sharing the folder raced on it, and a command failed with `bwrap: Can't find
 * source path …` (about once in 70 commands). The folder goes with its process; what a killed
 * orchestrator left is removed by the next orphan sweep, told apart by the owner in its name.
 *
 * Names are short on purpose: Claude Code puts its proxy sockets (`claude-http-<16 hex>.sock`)
 * in TMPDIR, and a Unix socket's path is limited to 107 bytes.
 */

/** `<pid>.<start>.<tag>` in base 36, the owner being `<pid>:<start time>` (see `process-tags.ts`). */
const NAME = /^([0-9a-z]+)\.([0-9a-z]*)\.([0-9a-f]{8})$/;

/** The folder name of a process's TMPDIR: its owner and the first 8 hex digits of its tag. */
export function scratchName(owner: string, tag: string): string {
  const [pid = '', start = ''] = owner.split(':');
  const base36 = (digits: string) => (/^\d+$/.test(digits) ? BigInt(digits).toString(36) : '');
  return `${base36(pid)}.${base36(start)}.${tag.replaceAll('-', '').slice(0, 8)}`;
}

/** The owner (`<pid>:<start time>`) a folder name records, or undefined for a name not of ours. */
export function scratchOwner(name: string): string | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const decimal = (digits: string) => (digits === '' ? '' : parse36(digits).toString());
  return `${decimal(match[1] as string)}:${decimal(match[2] as string)}`;
}

function parse36(digits: string): bigint {
  let value = 0n;
  for (const digit of digits) value = value * 36n + BigInt(Number.parseInt(digit, 36));
  return value;
}

/**
 * Makes the TMPDIR of one process under `tmpDir` (readable by the owner only) and returns it;
 * undefined when it cannot be made (the process then shares `tmpDir`, as before).
 */
export function makeScratchDir(tmpDir: string, owner: string, tag: string): string | undefined {
  const dir = path.join(tmpDir, scratchName(owner, tag));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Entries a TMPDIR may hold to be removed synchronously. Claude Code leaves about ten (its
 * proxy sockets' folder, per-session folders): removed so, they cost ~0.2 ms of CPU, against
 * ~1.6 ms through `fs.promises.rm` (one promise and thread-pool round trip per call), after
 * every agent. A larger tree (an agent's own temporary files) goes the asynchronous way, so
 * the event loop is never held for long.
 */
const SYNC_REMOVE_ENTRIES = 64;

/** Removes a process's TMPDIR once it is gone; never throws. */
export async function removeScratchDir(dir: string): Promise<void> {
  if (removeSmallTree(dir, SYNC_REMOVE_ENTRIES)) return;
  await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
}

/**
 * Removes `dir` and what it holds, synchronously, when that is at most `budget` entries; false
 * when it is more, or on any error (a file appearing meanwhile), leaving the rest to `rm`.
 * Symbolic links are removed, never followed.
 */
function removeSmallTree(dir: string, budget: number): boolean {
  const folders = [dir];
  const files: string[] = [];
  try {
    for (let i = 0; i < folders.length; i++) {
      const folder = folders[i] as string;
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        if (folders.length + files.length > budget) return false;
        (entry.isDirectory() ? folders : files).push(path.join(folder, entry.name));
      }
    }
    for (const file of files) unlinkSync(file);
    // Listed parents first: removed in reverse, every folder is empty by its turn.
    for (let i = folders.length - 1; i >= 0; i--) rmdirSync(folders[i] as string);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the TMPDIRs under `tmpDir` whose owner is dead (an orchestrator killed before it
 * could remove them); returns how many. Folders of live owners, and anything not named by
 * {@link scratchName}, are left alone.
 */
export async function sweepScratchDirs(tmpDir: string, ownerAlive: (owner: string) => boolean): Promise<number> {
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const owner = scratchOwner(name);
    if (owner === undefined || ownerAlive(owner)) continue;
    await removeScratchDir(path.join(tmpDir, name));
    removed++;
  }
  return removed;
}

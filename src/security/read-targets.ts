import { realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * The paths a file tool call reads, so the gate can keep an agent whose reads are open out of
 * other sessions' folders (see `sessionFoldersOf`): Claude Code's deny rules cannot say "this
 * folder but not my own workspace in it", and its sandbox covers Bash only.
 */

/** Fields naming what a built-in tool reads: a file, or the folder it searches. */
const READ_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Read: ['file_path'],
  NotebookRead: ['notebook_path'],
  Grep: ['path'],
  Glob: ['path'],
  LS: ['path'],
};

/** Characters that start the part of a glob pattern that is not a plain folder. */
const GLOB_MAGIC = /[*?[{]/;

/**
 * The absolute paths a call of `tool` reads, as written (relative ones from `cwd`; a search
 * without a folder searches `cwd`); empty for a tool that reads no file. Pure.
 */
export function readTargets(tool: string, input: unknown, cwd: string): string[] {
  const fields = READ_FIELDS[tool];
  if (fields === undefined) return [];
  const record = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const targets: string[] = [];
  for (const field of fields) {
    const value = record[field];
    if (typeof value === 'string' && value !== '') targets.push(path.resolve(cwd, value));
    else if (field === 'path') targets.push(path.resolve(cwd));
  }
  // A Glob pattern searches from its plain leading folders, taken from its folder (`..` in it
  // climbs out) or, when absolute, whatever `path` says.
  const pattern = record.pattern;
  if (tool === 'Glob' && typeof pattern === 'string' && pattern !== '') {
    const magic = pattern.search(GLOB_MAGIC);
    const plain = magic < 0 ? pattern : pattern.slice(0, pattern.lastIndexOf('/', magic) + 1);
    const base = path.resolve(targets[0] ?? cwd, plain);
    // A `..` past the plain part (`{../other,x}/*`) may climb anywhere: read as a search from the root.
    const climbs = magic >= 0 && /(^|[/{,])\.\.([/},]|$)/.test(pattern.slice(plain.length));
    targets.push(climbs ? path.parse(base).root : base);
  }
  return targets;
}

/**
 * The real path of each target (links resolved), for one that does not exist the real path of
 * its nearest existing folder with the rest appended: a link planted in the agent's own
 * workspace must not carry a read elsewhere.
 */
export async function realTargets(targets: readonly string[]): Promise<string[]> {
  return Promise.all(targets.map(realOrNearest));
}

async function realOrNearest(target: string): Promise<string> {
  let rest = '';
  let current = target;
  for (;;) {
    try {
      const real = await realpath(current);
      return rest === '' ? real : path.join(real, rest);
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return target;
      rest = rest === '' ? path.basename(current) : path.join(path.basename(current), rest);
      current = parent;
    }
  }
}

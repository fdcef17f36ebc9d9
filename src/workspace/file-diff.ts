import { spawn } from 'node:child_process';
import { OrchestratorError } from '../errors/index.ts';

/**
 * What changed in a session's workspace files between two recorded commits, with each text
 * file's unified diff, capped in size: a dashboard shows it, and a huge or binary file never
 * reaches the answer whole (binary files are named only).
 */

/** How a file changed between the two commits. */
export type FileChangeStatus = 'added' | 'modified' | 'deleted' | 'type-changed';

/** One changed file. */
export interface FileChange {
  readonly path: string;
  readonly status: FileChangeStatus;
  /** Git sees binary content: named only, no diff. */
  readonly binary: boolean;
  /** Lines added and removed (0 for binary files). */
  readonly added: number;
  readonly removed: number;
  /** Its unified diff (`git diff` format, three lines of context); absent for binary files and past the limits. */
  readonly diff?: string;
  /** The diff was cut at `maxFileBytes`, or left out because the answer reached `maxTotalBytes`. */
  readonly truncated: boolean;
}

/** Limits of {@link FileChanges}. */
export interface FileDiffLimits {
  /** Bytes of one file's diff, at most. @default 65536 */
  readonly maxFileBytes?: number;
  /** Bytes of all the diffs together; later files are listed without their diff. @default 1048576 */
  readonly maxTotalBytes?: number;
  /** Files listed, at most (the rest are counted in `omittedFiles`). @default 500 */
  readonly maxFiles?: number;
}

/** The changed files between two commits. */
export interface FileChanges {
  readonly files: FileChange[];
  /** Changed files not listed (over `maxFiles`). */
  readonly omittedFiles: number;
}

export const FILE_DIFF_DEFAULTS = { maxFileBytes: 64 * 1024, maxTotalBytes: 1024 * 1024, maxFiles: 500 } as const;

const STATUS: Readonly<Record<string, FileChangeStatus>> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  T: 'type-changed',
};

/**
 * The files of `git diff --no-renames -z --name-status` joined with `--numstat -z` (which says
 * `-` for the line counts of a binary file). Pure, so its reading of git's format is tested alone.
 */
export function parseChangedFiles(nameStatus: string, numstat: string): Array<Omit<FileChange, 'diff' | 'truncated'>> {
  const counts = new Map<string, { added: number; removed: number; binary: boolean }>();
  for (const record of numstat.split('\0')) {
    const match = /^(-|\d+)\t(-|\d+)\t([\s\S]+)$/.exec(record.replace(/^\n/, ''));
    if (!match) continue;
    const binary = match[1] === '-' && match[2] === '-';
    counts.set(match[3] as string, {
      added: binary ? 0 : Number(match[1]),
      removed: binary ? 0 : Number(match[2]),
      binary,
    });
  }
  const parts = nameStatus.split('\0');
  const files: Array<Omit<FileChange, 'diff' | 'truncated'>> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const code = (parts[i] as string).trim().charAt(0);
    const path = parts[i + 1] as string;
    if (code === '' || path === '') continue;
    const count = counts.get(path) ?? { added: 0, removed: 0, binary: false };
    files.push({ path, status: STATUS[code] ?? 'modified', ...count });
  }
  return files;
}

/**
 * The changed files between two commits of the repository `gitDir`, each text file with its
 * diff within the limits. Git runs without a shell; a diff is read up to its limit and git is
 * stopped there, so a file of gigabytes costs what the limit allows.
 */
export async function fileChanges(
  gitDir: string,
  from: string,
  to: string,
  limits: FileDiffLimits = {},
): Promise<FileChanges> {
  const maxFile = limits.maxFileBytes ?? FILE_DIFF_DEFAULTS.maxFileBytes;
  const maxFiles = limits.maxFiles ?? FILE_DIFF_DEFAULTS.maxFiles;
  let budget = limits.maxTotalBytes ?? FILE_DIFF_DEFAULTS.maxTotalBytes;
  const base = [`--git-dir=${gitDir}`, 'diff', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv'];
  const nameStatus = await readGit([...base, '-z', '--name-status', from, to, '--'], 16 * 1024 * 1024);
  const numstat = await readGit([...base, '-z', '--numstat', from, to, '--'], 16 * 1024 * 1024);
  const all = parseChangedFiles(nameStatus.text, numstat.text);
  const files: FileChange[] = [];
  for (const file of all.slice(0, maxFiles)) {
    if (file.binary) {
      files.push({ ...file, truncated: false });
      continue;
    }
    if (budget <= 0) {
      files.push({ ...file, truncated: true });
      continue;
    }
    const cap = Math.min(maxFile, budget);
    const read = await readGit([...base, from, to, '--', file.path], cap);
    budget -= Buffer.byteLength(read.text);
    files.push({ ...file, diff: read.text, truncated: read.truncated });
  }
  return { files, omittedFiles: Math.max(0, all.length - maxFiles) };
}

/** Runs git and keeps at most `maxBytes` of its output (UTF-8, cut at a character), stopping it past that. */
function readGit(args: string[], maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'core.quotepath=off', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        truncated = true;
        child.kill();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    child.on('error', (error) =>
      reject(new OrchestratorError('WORKSPACE_FAILED', `git: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) => {
      if (!truncated && code !== 0) {
        reject(
          new OrchestratorError(
            'WORKSPACE_FAILED',
            `git ${args.slice(1, 3).join(' ')} failed (${code}): ${stderr.trim()}`,
          ),
        );
        return;
      }
      const buffer = Buffer.concat(chunks).subarray(0, maxBytes);
      // A cut in the middle of a character would end in U+FFFD: drop the partial character.
      const text = buffer.toString('utf8').replace(/\uFFFD$/, '');
      resolve({ text, truncated });
    });
  });
}

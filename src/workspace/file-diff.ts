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

/** One file's part of a patch: its header line, and as much of its diff (the header first) as the limits allow. */
export interface PatchSection {
  readonly header: string;
  readonly text: string;
  readonly truncated: boolean;
}

/**
 * Splits `git diff` output, as it streams, into one section per file (a line that starts with
 * `diff --git ` begins one: lines of content start with ' ', '+' or '-'), each cut at
 * `maxFileBytes`, all together at `maxTotalBytes`. Pure: bytes in, sections out; `push` says
 * when the total is spent, so the reader can stop git there.
 */
export class PatchSplitter {
  readonly #maxFile: number;
  readonly #maxTotal: number;
  readonly #done: PatchSection[] = [];
  #header: Buffer | undefined;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #truncated = false;
  #total = 0;
  #partial: Buffer = Buffer.alloc(0);
  #full = false;

  constructor(maxFileBytes: number, maxTotalBytes: number) {
    this.#maxFile = maxFileBytes;
    this.#maxTotal = maxTotalBytes;
  }

  /** Sections begun so far. */
  get count(): number {
    return this.#done.length + (this.#header === undefined ? 0 : 1);
  }

  /** Takes the next bytes; false once the total is spent (nothing more will be kept). */
  push(chunk: Buffer): boolean {
    if (this.#full) return false;
    let data = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl === -1) break;
      this.#line(data.subarray(start, nl + 1));
      start = nl + 1;
      if (this.#full) return false;
    }
    data = data.subarray(start);
    // A partial line longer than what could be kept of it is kept no longer than that.
    this.#partial = Buffer.from(data.length > this.#maxFile + 64 ? data.subarray(0, this.#maxFile + 64) : data);
    return true;
  }

  /** The sections read, the last one included (call once git has ended or been stopped). */
  end(): PatchSection[] {
    if (!this.#full && this.#partial.length > 0) this.#line(this.#partial);
    this.#partial = Buffer.alloc(0);
    this.#close();
    return this.#done;
  }

  #line(line: Buffer): void {
    if (line.length > 11 && line.toString('latin1', 0, 11) === 'diff --git ') {
      this.#close();
      this.#header = Buffer.from(line);
      // The header is the first line of the file's diff, and counts toward both limits.
    }
    if (this.#header === undefined) return;
    const room = Math.min(this.#maxFile - this.#keptBytes, this.#maxTotal - this.#total);
    if (room <= 0 || line.length > room) {
      if (room > 0) {
        this.#kept.push(Buffer.from(line.subarray(0, room)));
        this.#keptBytes += room;
        this.#total += room;
      }
      this.#truncated = true;
      if (this.#total >= this.#maxTotal) this.#full = true;
      return;
    }
    this.#kept.push(Buffer.from(line));
    this.#keptBytes += line.length;
    this.#total += line.length;
  }

  #close(): void {
    if (this.#header === undefined) return;
    // A cut in the middle of a character decodes to U+FFFD: that partial character is dropped.
    let text = Buffer.concat(this.#kept).toString('utf8');
    if (this.#truncated) text = text.replace(/\uFFFD+$/, '');
    this.#done.push({ header: this.#header.toString('utf8').replace(/\n$/, ''), text, truncated: this.#truncated });
    this.#header = undefined;
    this.#kept = [];
    this.#keptBytes = 0;
    this.#truncated = false;
  }
}

/**
 * The changed files between two commits of the repository `gitDir`, each text file with its
 * diff within the limits. Three git processes whatever the number of files (the list, the line
 * counts, one patch read as it streams and stopped once the total is spent), without a shell.
 */
export async function fileChanges(
  gitDir: string,
  from: string,
  to: string,
  limits: FileDiffLimits = {},
): Promise<FileChanges> {
  const maxFile = limits.maxFileBytes ?? FILE_DIFF_DEFAULTS.maxFileBytes;
  const maxFiles = limits.maxFiles ?? FILE_DIFF_DEFAULTS.maxFiles;
  const maxTotal = limits.maxTotalBytes ?? FILE_DIFF_DEFAULTS.maxTotalBytes;
  const base = [`--git-dir=${gitDir}`, 'diff', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv'];
  const nameStatus = await readGit([...base, '-z', '--name-status', from, to, '--'], 16 * 1024 * 1024);
  const numstat = await readGit([...base, '-z', '--numstat', from, to, '--'], 16 * 1024 * 1024);
  const all = parseChangedFiles(nameStatus.text, numstat.text);
  const listed = all.slice(0, maxFiles);
  const splitter = new PatchSplitter(maxFile, maxTotal);
  // The patch lists files in the order the list does (both sorted by path, same options); it is
  // read until the total is spent or past the last file listed.
  await streamGit([...base, from, to, '--'], (chunk) => splitter.push(chunk) && splitter.count <= maxFiles);
  const sections = splitter.end();
  const files: FileChange[] = [];
  let aligned = true;
  listed.forEach((file, i) => {
    const section = sections[i];
    // A header that names another file would mean the two lists differ: no diff is guessed.
    if (section === undefined || !headerNames(section.header, file.path)) aligned = false;
    if (file.binary) files.push({ ...file, truncated: false });
    else if (!aligned || section === undefined) files.push({ ...file, truncated: true });
    else files.push({ ...file, diff: section.text, truncated: section.truncated });
  });
  return { files, omittedFiles: Math.max(0, all.length - maxFiles) };
}

/** Whether a `diff --git a/P b/P` header is the file's (quoted names, which git writes for odd characters, are taken on trust). */
function headerNames(header: string, path: string): boolean {
  return header === `diff --git a/${path} b/${path}` || header.startsWith('diff --git "');
}

/** Runs git, giving its output to `onChunk` until that answers false (then git is stopped). */
function streamGit(args: string[], onChunk: (chunk: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = process
      .getBuiltinModule('node:child_process')
      .spawn('git', ['-c', 'core.quotepath=off', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stopped = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (stopped) return;
      if (!onChunk(chunk)) {
        stopped = true;
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
      if (!stopped && code !== 0) {
        reject(
          new OrchestratorError(
            'WORKSPACE_FAILED',
            `git ${args.slice(1, 3).join(' ')} failed (${code}): ${stderr.trim()}`,
          ),
        );
        return;
      }
      resolve();
    });
  });
}

/** Runs git and keeps at most `maxBytes` of its output (UTF-8, cut at a character), stopping it past that. */
async function readGit(args: string[], maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  await streamGit(args, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    return size <= maxBytes;
  });
  const truncated = size > maxBytes;
  const buffer = Buffer.concat(chunks).subarray(0, maxBytes);
  // A cut in the middle of a character would end in U+FFFD: drop the partial character.
  const text = buffer.toString('utf8').replace(/\uFFFD$/, '');
  return { text, truncated };
}

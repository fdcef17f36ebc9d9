import { randomBytes } from 'node:crypto';
import { type Dir, existsSync, opendirSync } from 'node:fs';
import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { checkSafeName, childPath } from '../security/index.ts';
import { type FileChanges, type FileDiffLimits, fileChanges } from './file-diff.ts';
import { fingerprint, TOO_LARGE } from './fingerprint.ts';
import { git, gitScript, NESTED_REPOSITORY_EXCLUDES, UNSTAGE_SANDBOX_PLACEHOLDERS } from './git.ts';

/** A history repository unpacked from a bundle, not yet any session's. */
export interface IncomingHistory {
  /** Makes it the session's repository (which must not exist). */
  adopt(sessionId: string): Promise<void>;
  /** Removes it. */
  discard(): Promise<void>;
}

/** Whether a folder holds nothing but a `.git` (false when it cannot be read); reads a few entries at most. */
function onlyGitIn(folder: string): boolean {
  let dir: Dir;
  try {
    dir = opendirSync(folder, { bufferSize: 4 });
  } catch {
    return false;
  }
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) if (entry.name !== '.git') return false;
    return true;
  } catch {
    return false;
  } finally {
    dir.closeSync();
  }
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Options of {@link WorkspaceHistory}. */
export interface WorkspaceHistoryOptions {
  /**
   * A folder never recorded, wherever a workspace is: the orchestrator's data directory, which
   * a workspace given with `--workspace` (a checkout holding the default `.orchestrator`)
   * contains. Recorded, every version took in the event log, Claude Code's transcripts and
   * the history repositories themselves, and failed on files that came and went meanwhile.
   */
  readonly neverRecorded?: string | undefined;
}

/**
 * The history of session workspaces' files, kept in a git repository per session under the
 * data directory (`<root>/<sessionId>.git`), apart from the workspace itself: recording never
 * touches a repository the user keeps in their workspace (its `.git` is ignored, its
 * `.gitignore` honoured). Git stores each file content once, so a version costs in proportion
 * to the files that changed.
 */
export class WorkspaceHistory {
  readonly #root: string;
  /** Recordings under way, by session: one index per repository, so one recording at a time. */
  readonly #recording = new Map<string, Promise<unknown>>();
  readonly #confirmOwner: (sessionId: string) => Promise<void>;
  /** The last recording of each session by this process: the folder, its fingerprint, the commit. */
  readonly #last = new Map<string, { workspace: string; print: string | typeof TOO_LARGE; commit: string }>();
  readonly #neverRecorded: string | undefined;

  /**
   * @param root folder of the per-session repositories
   * @param confirmOwner run before each git command on a session's repository; throws when this
   *   process no longer owns the session (see `SessionLeases.confirm`)
   */
  constructor(
    root: string,
    confirmOwner: (sessionId: string) => Promise<void> = async () => undefined,
    options: WorkspaceHistoryOptions = {},
  ) {
    this.#root = root;
    this.#confirmOwner = confirmOwner;
    this.#neverRecorded = options.neverRecorded;
  }

  /** @throws OrchestratorError `LEASE_LOST` when another process owns the session now */
  confirmOwner(sessionId: string): Promise<void> {
    return this.#confirmOwner(sessionId);
  }

  /** @throws OrchestratorError `INVALID_ARGUMENT` for a session id that is not a safe name */
  #gitDir(sessionId: string): string {
    return childPath(this.#root, [`${checkSafeName(sessionId, 'sessionId')}.git`], ['sessionId']);
  }

  /** The session's history repository (which may not exist yet). */
  folder(sessionId: string): string {
    return this.#gitDir(sessionId);
  }

  async #git(sessionId: string, workTree: string | undefined, args: string[], env?: NodeJS.ProcessEnv) {
    const gitDir = this.#gitDir(sessionId);
    await this.#confirmOwner(sessionId);
    const prefix = [`--git-dir=${gitDir}`, ...(workTree ? [`--work-tree=${workTree}`] : [])];
    return git(this.#root, [...prefix, ...args], env ? { env } : {});
  }

  /**
   * Records the workspace's files as they are now and returns the commit (a new one only when
   * something changed). Recordings of one session (versions, isolated nodes' snapshots) take
   * turns: they share the repository's index.
   */
  record(sessionId: string, workspace: string, message: string): Promise<string> {
    return this.#queue(sessionId, () => this.#record(sessionId, workspace, message));
  }

  /**
   * As {@link record}, for a version: while the workspace is empty and the session has no
   * history yet, nothing is recorded (null) and no git process starts. A run that never puts a
   * file in its workspace (function nodes, say) then costs no git process at all; its versions
   * name no commit, which reads as an empty folder (see {@link EMPTY_TREE}).
   */
  recordVersion(sessionId: string, workspace: string, message: string): Promise<string | null> {
    return this.#queue(sessionId, async () =>
      this.#nothingToRecord(sessionId, workspace) ? null : this.#record(sessionId, workspace, message),
    );
  }

  /**
   * An empty folder (but a `.git`, which git leaves out too) of a session with no history. Once
   * a history exists, emptying the folder is a change to record. Synchronous on purpose: at most
   * a few entries of the folder are read and one path looked up, while two trips through the
   * thread pool held a version behind its blobs' write (0.5-8 ms at the last version of a
   * 10,000-node run of function nodes, whose folder stays empty).
   */
  #nothingToRecord(sessionId: string, workspace: string): boolean {
    if (this.#last.has(sessionId)) return false;
    return onlyGitIn(workspace) && !existsSync(this.#gitDir(sessionId));
  }

  #queue<T>(sessionId: string, recording: () => Promise<T>): Promise<T> {
    // A hostile id is refused before anything is queued or made.
    this.#gitDir(sessionId);
    const previous = this.#recording.get(sessionId) ?? Promise.resolve();
    const current = previous.then(recording, recording);
    const settled = current.catch(() => undefined);
    this.#recording.set(sessionId, settled);
    void settled.then(() => {
      if (this.#recording.get(sessionId) === settled) this.#recording.delete(sessionId);
    });
    return current;
  }

  async #record(sessionId: string, workspace: string, message: string): Promise<string> {
    // Nothing changed since the last recording (by this process): its commit stands, and no
    // git process is started.
    const skip = await this.#skippedIn(workspace);
    const last = this.#last.get(sessionId);
    // A folder too large for a fingerprint stays so in practice (what made it so is mostly
    // ignored: node_modules, build output): git alone looks at it from then on, rather than
    // up to a thousand entries read again for nothing at every version.
    const tooLarge = last?.workspace === workspace && last.print === TOO_LARGE;
    const print = tooLarge ? TOO_LARGE : await fingerprint(workspace, undefined, skip);
    if (typeof print === 'string' && last?.workspace === workspace && last.print === print) return last.commit;
    const gitDir = this.#gitDir(sessionId);
    await mkdir(this.#root, { recursive: true });
    await this.#confirmOwner(sessionId);
    // One child process: create the repository if needed, stage everything, commit when the
    // index differs from HEAD (or there is no commit yet), print the head.
    const { stdout } = await gitScript(this.#root, RECORD_SCRIPT, [`--git-dir=${gitDir}`, `--work-tree=${workspace}`], {
      MESSAGE: message,
      HISTORY_DIR: gitDir,
      WORKSPACE: workspace,
      SKIP: skip ?? '',
    });
    const commit = stdout.split('\n').at(-1) ?? '';
    if (print === null) this.#last.delete(sessionId);
    else this.#last.set(sessionId, { workspace, print, commit });
    return commit;
  }

  /**
   * Where the folder never recorded lies in `workspace`, relative and `/`-separated (its real
   * path against the workspace's, so a link on either way does not hide it); undefined when it
   * is not inside.
   */
  async #skippedIn(workspace: string): Promise<string | undefined> {
    if (this.#neverRecorded === undefined) return undefined;
    const real = (p: string) => realpath(p).catch(() => path.resolve(p));
    const relative = path.relative(await real(workspace), await real(this.#neverRecorded));
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
    return relative.split(path.sep).join('/');
  }

  /**
   * Writes the files of `commit` (recorded for `sessionId`) into `target`, a new folder, and
   * gives `newSessionId` a history that starts with the old one's, so its own versions can be
   * compared with the ones it was forked from.
   */
  async restore(sessionId: string, commit: string, target: string, newSessionId: string): Promise<void> {
    const to = this.#gitDir(newSessionId);
    if (!(await exists(to))) await git(this.#root, ['clone', '-q', '--bare', this.#gitDir(sessionId), to]);
    await this.checkout(newSessionId, commit, target);
    await this.#git(newSessionId, target, ['update-ref', 'HEAD', commit]);
  }

  /**
   * Writes the files of a recorded commit into `target` (created when missing), leaving the
   * repository's own index as it is.
   */
  async checkout(sessionId: string, commit: string, target: string): Promise<void> {
    await mkdir(target, { recursive: true });
    // A private index, so the repository's index (matching its own workspace) stays as it is.
    const index = childPath(this.#root, [`${sessionId}.restore-index`], ['sessionId']);
    try {
      const env = { ...process.env, GIT_INDEX_FILE: index };
      await this.#git(sessionId, target, ['read-tree', commit], env);
      await this.#git(sessionId, target, ['checkout-index', '-a', '-f'], env);
    } finally {
      await rm(index, { force: true });
    }
  }

  /** Whether the session's repository exists. */
  exists(sessionId: string): Promise<boolean> {
    return exists(this.#gitDir(sessionId));
  }

  /** The commits among `commits` that the session's repository does not hold. */
  async missingCommits(sessionId: string, commits: readonly string[]): Promise<string[]> {
    return missingIn(this.#gitDir(sessionId), commits);
  }

  /**
   * Writes the whole history of a session (every ref and the commits they reach) into a git
   * bundle file. Null when the session has no history repository, or one without a commit.
   */
  async bundle(sessionId: string, file: string): Promise<{ head: string } | null> {
    const gitDir = this.#gitDir(sessionId);
    if (!(await exists(gitDir))) return null;
    const head = await git(this.#root, [`--git-dir=${gitDir}`, 'rev-parse', '-q', '--verify', 'HEAD^{commit}'], {
      allowFailure: true,
    });
    if (head.code !== 0) return null;
    await git(this.#root, [`--git-dir=${gitDir}`, 'bundle', 'create', '-q', file, '--all']);
    return { head: head.stdout };
  }

  /**
   * Unpacks a bundle into a new repository beside the sessions' ones, under a name no session
   * has, and checks that it holds `commits`; the repository becomes a session's with
   * {@link IncomingHistory.adopt}, or goes with {@link IncomingHistory.discard}.
   * @throws OrchestratorError `WORKSPACE_FAILED` when the bundle does not unpack or lacks a commit
   */
  async unbundle(file: string, head: string, commits: readonly string[]): Promise<IncomingHistory> {
    await mkdir(this.#root, { recursive: true });
    const gitDir = path.join(this.#root, `.incoming-${randomBytes(6).toString('hex')}.git`);
    const discard = () => rm(gitDir, { recursive: true, force: true });
    try {
      await git(this.#root, ['init', '-q', '--bare', '-b', 'main', gitDir]);
      await git(this.#root, [`--git-dir=${gitDir}`, 'fetch', '-q', file, '+refs/*:refs/*']);
      const missing = await missingIn(gitDir, [head, ...commits]);
      if (missing.length > 0) {
        throw new OrchestratorError('WORKSPACE_FAILED', `the history does not hold commit(s) ${missing.join(', ')}`, {
          details: { missing },
        });
      }
      await git(this.#root, [`--git-dir=${gitDir}`, 'update-ref', 'HEAD', head]);
    } catch (error) {
      await discard();
      throw error;
    }
    return {
      adopt: async (sessionId) => {
        await rename(gitDir, this.#gitDir(sessionId));
      },
      discard,
    };
  }

  /** Files that differ between two recorded commits of a session. */
  async changedFiles(sessionId: string, from: string, to: string): Promise<string[]> {
    const { stdout } = await this.#git(sessionId, undefined, ['diff', '--name-only', from, to]);
    return stdout.split('\n').filter(Boolean);
  }

  /**
   * The files that differ between two recorded commits of a session, each text file with its
   * unified diff within `limits` (a read: it takes no lock and needs no ownership).
   */
  diffFiles(sessionId: string, from: string, to: string, limits?: FileDiffLimits): Promise<FileChanges> {
    return fileChanges(this.#gitDir(sessionId), from, to, limits);
  }

  /** Forgets a session's history (when the session is pruned). */
  async remove(sessionId: string): Promise<void> {
    this.#last.delete(sessionId);
    await rm(this.#gitDir(sessionId), { recursive: true, force: true });
  }
}

/**
 * Git's empty tree (SHA-1 repositories, as `init` makes them): what a version that names no
 * commit held, for a diff from or to it. Git knows this tree without storing it.
 */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * What {@link WorkspaceHistory.record} runs, in one shell: `"$@"` is git's options, `$MESSAGE`
 * the message, `$WORKSPACE` the folder recorded, `$HISTORY_DIR` the repository (created without git's sample hooks: nothing runs
 * them), `$SKIP` the folder in it never recorded (dropped too from what an earlier version
 * recorded of it).
 */
const RECORD_SCRIPT = `set -e
[ -e "$HISTORY_DIR" ] || git "$@" init -q -b main --template=
{ printf ':(top)\\0'; [ -z "$SKIP" ] || printf ':(top,exclude,literal)%s\\0' "$SKIP"; ${NESTED_REPOSITORY_EXCLUDES}; } |
  git "$@" add -A --pathspec-from-file=- --pathspec-file-nul
[ -z "$SKIP" ] || git "$@" rm -r -q --cached --ignore-unmatch -- ":(top,literal)$SKIP" >/dev/null
${UNSTAGE_SANDBOX_PLACEHOLDERS}
if git "$@" rev-parse -q --verify HEAD >/dev/null && git "$@" diff --cached --quiet HEAD --; then :
else git "$@" commit -q --allow-empty --no-verify -m "$MESSAGE"; fi
git "$@" rev-parse HEAD`;

async function missingIn(gitDir: string, commits: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const commit of new Set(commits)) {
    const found = await git(path.dirname(gitDir), [`--git-dir=${gitDir}`, 'cat-file', '-e', `${commit}^{commit}`], {
      allowFailure: true,
    });
    if (found.code !== 0) missing.push(commit);
  }
  return missing;
}

import { createHash, randomBytes } from 'node:crypto';
import { lstat, readFile, readlink, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { commitAll, git, gitScript } from './git.ts';
import type { WorkspaceHistory } from './history.ts';
import { inWorktree, type WorktreeGit, worktreeGit, worktreeOptions } from './worktree-git.ts';

/**
 * The git side of isolated nodes. A node attempt works in a worktree of the session's history
 * repository (`<dataDir>/history/<sessionId>.git`), on a branch of its own made from a snapshot
 * of the workspace's files. Its changes go back by a merge in that repository (the node's
 * branch with a fresh snapshot of the workspace), whose result is written into the workspace
 * file by file: a repository the user keeps in the workspace is never written (no `add`, no
 * commit, no checkout), so their branch, index and uncommitted work stay as they were.
 *
 * A conflict writes nothing into the workspace and keeps the branch and the worktree. For a
 * human to resolve it, the merge is started in the worktree (conflict markers, `MERGE_HEAD`)
 * and the files as it left them are noted; the next merge takes each file as resolved when it
 * was staged or edited in the worktree, or when the workspace's version changed meanwhile
 * (that version then wins), and otherwise reports the conflict again.
 */

/** One isolated node attempt: its worktree and branch in the session's history repository. */
export interface NodeWorktree {
  readonly sessionId: string;
  /** `<node id>-<attempt>`. */
  readonly label: string;
  /** The session workspace the node's changes go back to. */
  readonly workspace: string;
  /** The session's history repository (a git directory). */
  readonly repository: string;
  /** The worktree folder the node's agent works in. */
  readonly dir: string;
  /** `orchestrator/<sessionId>/<label>`, a branch of the history repository. */
  readonly branch: string;
}

/** Where a node attempt's merge stands: whether it happened, and whether its branch is still there. */
export interface MergeState {
  readonly merged: boolean;
  readonly branch: boolean;
  /** A merge waits in the worktree for a human (`MERGE_HEAD`): its resolution comes first. */
  readonly waiting: boolean;
}

/** Written beside a worktree's own git files when a merge waits there for a human. */
const CONFLICT_NOTE = 'orchestrator-conflict.json';

interface ConflictNote {
  /** The workspace snapshot the worktree's merge is with. */
  readonly snapshot: string;
  /** Fingerprints of the conflicting files as the merge left them. */
  readonly files: Readonly<Record<string, string>>;
}

function repo(wt: NodeWorktree, args: string[], options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  return git(path.dirname(wt.repository), [`--git-dir=${wt.repository}`, ...args], options);
}

/** The ref that records a finished merge (a merge commit of the snapshot and the node's branch). */
export function mergedRef(wt: Pick<NodeWorktree, 'sessionId' | 'label'>): string {
  return `refs/orchestrator/merged/${wt.sessionId}/${wt.label}`;
}

/** Makes the attempt's worktree and branch from a snapshot of the workspace as it is now. */
export async function createWorktree(history: WorkspaceHistory, wt: NodeWorktree): Promise<void> {
  const base = await history.record(wt.sessionId, wt.workspace, `workspace before ${wt.label}`);
  await repoScript(wt, CREATE_WORKTREE_SCRIPT, { BASE: base, MERGED: mergedRef(wt) });
}

/** Removes the attempt's worktree and branch (its merge, if any, stays recorded). */
export async function removeWorktree(wt: NodeWorktree): Promise<void> {
  await repoScript(wt, REMOVE_WORKTREE_SCRIPT, {}, { allowFailure: true });
}

// The git commands of a worktree's making, its removal and a merge's record run as one child
// process each: every command the orchestrator spawned itself cost a fork of its whole process
// (23 of them per isolated node, 13-110 ms apiece, on its critical path; now 10). Values reach
// the scripts as environment variables, never as script text. A script stopped by a lock
// another git process holds is run again whole (see `gitScript`): each starts by undoing what
// an interrupted run of it may have left.
const CREATE_WORKTREE_SCRIPT = `set -e
rm -rf -- "$DIR"
git "$@" worktree prune
git "$@" update-ref -d "refs/heads/$BRANCH"
git "$@" update-ref -d "$MERGED"
mkdir -p -- "$(dirname -- "$DIR")"
git "$@" worktree add -q -b "$BRANCH" "$DIR" "$BASE"`;

/**
 * `worktree remove` fails when git no longer lists the worktree (a folder removed by hand, an
 * interrupted run): the folder then goes, and `prune` forgets it. `update-ref -d` (unlike
 * `branch -D`) succeeds when the branch is gone already, with no look-up first.
 */
const REMOVE_WORKTREE_SCRIPT = `set -e
if ! git "$@" worktree remove --force "$DIR" 2>/dev/null; then
  rm -rf -- "$DIR"
  git "$@" worktree prune
fi
git "$@" update-ref -d "refs/heads/$BRANCH"`;

/** The merge's commit (the snapshot and the node's head as parents), then the ref that records it. */
const RECORD_MERGE_SCRIPT = `set -e
commit=$(git "$@" commit-tree "$TREE" -p "$SNAPSHOT" -p "$NODE_HEAD" -m "$MESSAGE")
git "$@" update-ref "$MERGED" "$commit"`;

function repoScript(
  wt: NodeWorktree,
  script: string,
  env: Record<string, string>,
  options: { allowFailure?: boolean } = {},
) {
  return gitScript(
    path.dirname(wt.repository),
    script,
    [`--git-dir=${wt.repository}`],
    { DIR: wt.dir, BRANCH: wt.branch, ...env },
    options,
  );
}

/**
 * Whether the attempt's merge happened (it is recorded), whether its branch is still there, and
 * whether a merge waits in its worktree.
 */
export async function mergeState(wt: NodeWorktree): Promise<MergeState> {
  if (!(await exists(wt.repository))) return { merged: false, branch: false, waiting: false };
  const tree = await worktreeGit(wt.repository, wt.dir);
  const env = { MERGED: mergedRef(wt), TREE_GIT_DIR: tree?.gitDir ?? '' };
  const found = new Map<string, string>();
  for (const line of (await repoScript(wt, MERGE_STATE_SCRIPT, env)).stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) found.set(line.slice(0, at), line.slice(at + 1));
  }
  const head = found.get('head') || undefined;
  const merged = found.get('merged') || undefined;
  return {
    merged: merged !== undefined && (head === undefined || head === merged),
    branch: head !== undefined,
    waiting: found.get('waiting') === 'yes',
  };
}

/** Three look-ups in one child process; `MERGE_HEAD` in the worktree's own git directory. */
const MERGE_STATE_SCRIPT = `head=$(git "$@" rev-parse -q --verify "refs/heads/$BRANCH") || head=
merged=$(git "$@" rev-parse -q --verify "$MERGED^2") || merged=
waiting=no
if [ -n "$TREE_GIT_DIR" ] && git --git-dir="$TREE_GIT_DIR" rev-parse -q --verify MERGE_HEAD >/dev/null 2>&1; then
  waiting=yes
fi
printf 'head=%s\nmerged=%s\nwaiting=%s\n' "$head" "$merged" "$waiting"`;

/**
 * Merges the attempt's branch (with what its worktree holds) and the workspace as it is now,
 * and writes the result into the workspace.
 * @param prepare on a conflict, start the merge in the worktree for a human to resolve
 * @throws OrchestratorError `MERGE_CONFLICT` with `details`: `files`, `branch`, `worktree`,
 * `repository`, and `unchanged` (true when a merge waiting in the worktree was not resolved at all)
 */
export async function mergeBack(
  history: WorkspaceHistory,
  wt: NodeWorktree,
  prepare: boolean,
  state: Pick<MergeState, 'waiting'>,
): Promise<void> {
  const snapshot = await history.record(wt.sessionId, wt.workspace, `workspace before merging ${wt.label}`);
  const branch = `refs/heads/${wt.branch}`;
  // After a restart the worktree folder may be gone while its branch (and commits) remain.
  const worktree = await worktreeGit(wt.repository, wt.dir);
  let head: string;
  if (worktree) {
    if (state.waiting) await settleResolution(wt, worktree, snapshot);
    head = await commitAll(wt.dir, `changes of ${wt.label}`, branch, worktreeOptions(worktree));
  } else if (await exists(wt.dir)) {
    // Its `.git` went and git forgot the worktree: what the folder holds cannot be committed
    // safely (git would find a repository by itself), and is not dropped either.
    throw new OrchestratorError(
      'WORKSPACE_FAILED',
      `the worktree ${wt.dir} of ${wt.label} is no longer one of ${wt.repository}: its files were not merged, and are kept`,
      { details: { worktree: wt.dir, branch: wt.branch, repository: wt.repository } },
    );
  } else {
    head = (await repo(wt, ['rev-parse', branch])).stdout;
  }
  const args = ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', snapshot, head];
  const merge = await repo(wt, args, { allowFailure: true });
  const [tree = '', ...files] = merge.stdout.split('\0').filter(Boolean);
  if (merge.code === 1) {
    if (prepare) await prepareResolution(wt, snapshot);
    throw conflict(wt, files, false);
  }
  // Any other exit is git failing: run it again to raise that with git's own message.
  if (merge.code !== 0) await repo(wt, args);
  await writeTree(wt, snapshot, tree);
  await repoScript(wt, RECORD_MERGE_SCRIPT, {
    TREE: tree,
    SNAPSHOT: snapshot,
    NODE_HEAD: head,
    MESSAGE: `merge ${wt.label}`,
    MERGED: mergedRef(wt),
  });
}

function conflict(wt: NodeWorktree, files: readonly string[], unchanged: boolean): OrchestratorError {
  const names = files.join(', ') || '(unknown files)';
  return new OrchestratorError(
    'MERGE_CONFLICT',
    `changes of ${wt.label} conflict with the session workspace in: ${names}; its work is kept on branch ${wt.branch} of ${wt.repository}, in the worktree ${wt.dir}`,
    {
      details: { files: [...files], branch: wt.branch, worktree: wt.dir, repository: wt.repository, unchanged },
    },
  );
}

/** Starts the merge with the workspace's snapshot in the worktree, markers and all, and notes its files. */
async function prepareResolution(wt: NodeWorktree, snapshot: string): Promise<void> {
  if (!(await exists(wt.dir))) {
    await repo(wt, ['worktree', 'prune']);
    await repo(wt, ['worktree', 'add', '-q', wt.dir, wt.branch]);
  }
  const tree = await worktreeGit(wt.repository, wt.dir);
  if (!tree) return;
  await inWorktree(tree, ['merge', '--no-ff', '--no-commit', '-q', snapshot], { allowFailure: true });
  await writeFile(notePath(tree), JSON.stringify(await noteNow(tree, snapshot)));
}

/**
 * Takes a human's resolution of the merge waiting in the worktree: a file staged or edited
 * there is resolved as it is; one the human left but whose workspace version changed since is
 * resolved with that version. Anything else is still a conflict.
 */
async function settleResolution(wt: NodeWorktree, tree: WorktreeGit, snapshot: string): Promise<void> {
  const note = await readNote(tree);
  if (!note) {
    // A merge started in the worktree by someone else: note it now and ask about it.
    await writeFile(notePath(tree), JSON.stringify(await noteNow(tree, snapshot)));
    throw conflict(wt, await unmergedFiles(tree), false);
  }
  const unmerged = new Set(await unmergedFiles(tree));
  const open: string[] = [];
  let resolved = 0;
  for (const [file, left] of Object.entries(note.files)) {
    if (!unmerged.has(file) || (await fingerprint(path.join(wt.dir, file))) !== left) {
      resolved++;
      continue;
    }
    const before = await revision(wt, `${note.snapshot}:${file}`);
    const now = await revision(wt, `${snapshot}:${file}`);
    if (before === now) {
      open.push(file);
      continue;
    }
    if (now === undefined) await inWorktree(tree, ['rm', '-q', '-f', '--', file]);
    else await inWorktree(tree, ['checkout', snapshot, '--', file]);
    resolved++;
  }
  if (open.length > 0) throw conflict(wt, open, resolved === 0);
}

async function noteNow(tree: WorktreeGit, snapshot: string): Promise<ConflictNote> {
  const files: Record<string, string> = {};
  for (const file of await unmergedFiles(tree)) files[file] = await fingerprint(path.join(tree.dir, file));
  return { snapshot, files };
}

async function readNote(tree: WorktreeGit): Promise<ConflictNote | undefined> {
  try {
    return JSON.parse(await readFile(notePath(tree), 'utf8')) as ConflictNote;
  } catch {
    return undefined;
  }
}

function notePath(tree: WorktreeGit): string {
  return path.join(tree.gitDir, CONFLICT_NOTE);
}

async function unmergedFiles(tree: WorktreeGit): Promise<string[]> {
  const { stdout } = await inWorktree(tree, ['diff', '--name-only', '-z', '--diff-filter=U']);
  return [...new Set(stdout.split('\0').filter(Boolean))];
}

/**
 * Writes into the workspace the files that differ between the snapshot it was merged with and
 * the merge's tree: deletions first (and the folders they empty), then the rest from a private
 * index, so the history repository's own index (which follows the workspace) is not disturbed.
 */
async function writeTree(wt: NodeWorktree, snapshot: string, tree: string): Promise<void> {
  const diff = await repo(wt, ['diff-tree', '-r', '-z', '--no-renames', '--name-status', snapshot, tree]);
  const parts = diff.stdout.split('\0').filter(Boolean);
  const deleted: string[] = [];
  const written: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const file = parts[i + 1] as string;
    if (!inside(wt.workspace, file)) continue;
    (parts[i] === 'D' ? deleted : written).push(file);
  }
  for (const file of deleted) {
    await rm(path.join(wt.workspace, file), { force: true });
    await removeEmptyParents(wt.workspace, path.dirname(path.join(wt.workspace, file)));
  }
  if (written.length === 0) return;
  const index = path.join(wt.repository, `merge-index-${randomBytes(6).toString('hex')}`);
  const env = { ...process.env, GIT_INDEX_FILE: index };
  const workTree = `--work-tree=${wt.workspace}`;
  try {
    await repo(wt, [workTree, 'read-tree', tree], { env });
    for (let i = 0; i < written.length; i += 200) {
      await repo(wt, [workTree, 'checkout-index', '-f', '--', ...written.slice(i, i + 200)], { env });
    }
  } finally {
    await rm(index, { force: true });
  }
}

/** A path of a tree that stays in the workspace and out of a repository the user keeps there. */
function inside(workspace: string, file: string): boolean {
  const relative = path.relative(workspace, path.resolve(workspace, file));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return false;
  return relative.split(path.sep)[0] !== '.git';
}

async function removeEmptyParents(workspace: string, dir: string): Promise<void> {
  for (let current = dir; current !== workspace && inside(workspace, current); current = path.dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
  }
}

/** What a file holds (its content, its link target), to tell whether someone changed it. */
async function fingerprint(file: string): Promise<string> {
  try {
    const info = await lstat(file);
    if (info.isSymbolicLink()) return `link:${await readlink(file)}`;
    if (!info.isFile()) return 'other';
    return `file:${createHash('sha256')
      .update(await readFile(file))
      .digest('hex')}`;
  } catch {
    return 'missing';
  }
}

async function revision(wt: NodeWorktree, name: string): Promise<string | undefined> {
  const found = await repo(wt, ['rev-parse', '-q', '--verify', name], { allowFailure: true });
  return found.code === 0 && found.stdout !== '' ? found.stdout : undefined;
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

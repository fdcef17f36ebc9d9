import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { childPath, isSafeName } from '../security/index.ts';
import { commitAll, git } from './git.ts';

/** A folder an agent works in, and what to do with its changes when it is done. */
export interface Workspace {
  readonly cwd: string;
  /** Merges an isolated worktree's changes back (ok) or discards them (not ok). */
  finish(ok: boolean): Promise<void>;
}

/**
 * Session workspaces and isolated per-node worktrees. A node that runs `isolated` gets a git
 * worktree on its own branch, made from the session workspace as it stood when the node
 * started; when the node succeeds its branch is merged back. A conflict fails the node with
 * the conflicting files named and leaves the session workspace as it was: never a silent
 * overwrite. Merges into one workspace are serialized.
 */
export class WorkspaceManager {
  readonly #root: string;
  readonly #locks = new Map<string, Promise<unknown>>();

  /** @param root folder for worktrees (under the data directory) */
  constructor(root: string) {
    this.#root = root;
  }

  /** Creates (or reuses) a session workspace folder; existing folders are used as they are. */
  async ensureSessionWorkspace(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    return path.resolve(dir);
  }

  /** The shared workspace itself: nothing to merge. */
  shared(cwd: string): Workspace {
    return { cwd, finish: async () => undefined };
  }

  /** A new worktree of `sessionWorkspace` for one node attempt. */
  async isolated(sessionWorkspace: string, sessionId: string, label: string): Promise<Workspace> {
    const branch = `orchestrator/${sessionId}/${label}`;
    // Safe names under the root: the folder removed below can never be another one.
    const dir = childPath(this.#root, [sessionId, label], ['sessionId', 'label']);
    await this.#exclusive(sessionWorkspace, async () => {
      await ensureRepository(sessionWorkspace);
      const base = await commitAll(sessionWorkspace, `workspace before ${label}`);
      await rm(dir, { recursive: true, force: true });
      await git(sessionWorkspace, ['worktree', 'prune']);
      await git(sessionWorkspace, ['branch', '-D', branch], { allowFailure: true });
      await mkdir(path.dirname(dir), { recursive: true });
      await git(sessionWorkspace, ['worktree', 'add', '-q', '-b', branch, dir, base]);
    });
    return {
      cwd: dir,
      finish: (ok) =>
        this.#exclusive(sessionWorkspace, async () => {
          try {
            if (ok) await this.#mergeBack(sessionWorkspace, dir, branch, label);
          } finally {
            await git(sessionWorkspace, ['worktree', 'remove', '--force', dir], { allowFailure: true });
            await git(sessionWorkspace, ['branch', '-D', branch], { allowFailure: true });
          }
        }),
    };
  }

  /**
   * The worktree an earlier process made for one node attempt, to finish its merge after a
   * restart: its workspace (finishing merges it, unless already merged, and removes it),
   * `merged` when the merge is in the session workspace already and the worktree is gone, or
   * undefined when neither (the attempt's work is lost and must run again).
   */
  async resumeIsolated(
    sessionWorkspace: string,
    sessionId: string,
    label: string,
  ): Promise<Workspace | 'merged' | undefined> {
    const branch = `orchestrator/${sessionId}/${label}`;
    const dir = childPath(this.#root, [sessionId, label], ['sessionId', 'label']);
    const found = await this.#exclusive(sessionWorkspace, async () => {
      const ref = await git(sessionWorkspace, ['rev-parse', '-q', '--verify', `refs/heads/${branch}`], {
        allowFailure: true,
      });
      if (ref.code === 0) return 'branch';
      const log = await git(sessionWorkspace, ['log', '--format=%s', '-n', '200'], { allowFailure: true });
      return log.stdout.split('\n').includes(`merge ${label}`) ? 'merged' : 'gone';
    });
    if (found === 'merged') return 'merged';
    if (found === 'gone') return undefined;
    return {
      cwd: dir,
      finish: (ok) =>
        this.#exclusive(sessionWorkspace, async () => {
          try {
            if (ok && !(await isMerged(sessionWorkspace, branch, label))) {
              await this.#mergeBack(sessionWorkspace, dir, branch, label);
            }
          } finally {
            await git(sessionWorkspace, ['worktree', 'remove', '--force', dir], { allowFailure: true });
            await git(sessionWorkspace, ['worktree', 'prune'], { allowFailure: true });
            await git(sessionWorkspace, ['branch', '-D', branch], { allowFailure: true });
          }
        }),
    };
  }

  /**
   * Removes what isolated nodes of a session left behind (worktrees a killed process did not
   * clean up), for retention: its folder under the worktrees root and, in the session workspace
   * when that is a repository of its own, the records of worktrees now gone and the
   * `orchestrator/<sessionId>/...` branches. Nothing else of the workspace is touched.
   * @returns whether a worktree folder was there to remove.
   */
  async removeSessionWorktrees(sessionId: string, sessionWorkspace?: string): Promise<boolean> {
    // A session id is a user's string: one that is no safe name never names a folder here.
    if (!isSafeName(sessionId)) return false;
    const dir = childPath(this.#root, [sessionId], ['sessionId']);
    const existed = await exists(dir);
    await rm(dir, { recursive: true, force: true });
    if (sessionWorkspace && (await exists(path.join(sessionWorkspace, '.git')))) {
      await this.#exclusive(sessionWorkspace, async () => {
        await git(sessionWorkspace, ['worktree', 'prune'], { allowFailure: true });
        const refs = await git(
          sessionWorkspace,
          ['for-each-ref', '--format=%(refname:short)', `refs/heads/orchestrator/${sessionId}/`],
          { allowFailure: true },
        );
        const branches = refs.stdout.split('\n').filter(Boolean);
        if (branches.length > 0) await git(sessionWorkspace, ['branch', '-D', ...branches], { allowFailure: true });
      });
    }
    return existed;
  }

  async #mergeBack(sessionWorkspace: string, dir: string, branch: string, label: string): Promise<void> {
    // After a restart the worktree folder may be gone while its branch (and commits) remain.
    if (await exists(dir)) await commitAll(dir, `changes of ${label}`);
    await commitAll(sessionWorkspace, `workspace before merging ${label}`);
    const merge = await git(sessionWorkspace, ['merge', '--no-ff', '--no-edit', '-m', `merge ${label}`, branch], {
      allowFailure: true,
    });
    if (merge.code === 0) return;
    const conflicts = (
      await git(sessionWorkspace, ['diff', '--name-only', '--diff-filter=U'], { allowFailure: true })
    ).stdout
      .split('\n')
      .filter(Boolean);
    await git(sessionWorkspace, ['merge', '--abort'], { allowFailure: true });
    throw new OrchestratorError(
      'MERGE_CONFLICT',
      `changes of ${label} conflict with the session workspace in: ${conflicts.join(', ') || '(unknown files)'}`,
      { details: { files: conflicts } },
    );
  }

  /** Runs `task` with no other workspace operation on the same folder in between. */
  async #exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const settled = current.catch(() => undefined);
    this.#locks.set(key, settled);
    try {
      return await current;
    } finally {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    }
  }
}

/**
 * True when the workspace's history has the merge of `branch` (a `merge <label>` commit whose
 * second parent is the branch's head): the merge happened before the process ended.
 */
async function isMerged(sessionWorkspace: string, branch: string, label: string): Promise<boolean> {
  const head = await git(sessionWorkspace, ['rev-parse', '-q', '--verify', `refs/heads/${branch}`], {
    allowFailure: true,
  });
  if (head.code !== 0) return false;
  const merges = await git(sessionWorkspace, ['log', '--merges', '--format=%P%x09%s', '-n', '200'], {
    allowFailure: true,
  });
  return merges.stdout.split('\n').some((line) => {
    const [parents = '', subject] = line.split('\t');
    return subject === `merge ${label}` && parents.split(' ')[1] === head.stdout.trim();
  });
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

async function ensureRepository(dir: string): Promise<void> {
  if (!(await exists(path.join(dir, '.git')))) await git(dir, ['init', '-q', '-b', 'main']);
}

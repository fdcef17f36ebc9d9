import { mkdirSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { childPath, isSafeName } from '../security/index.ts';
import { git } from './git.ts';
import type { WorkspaceHistory } from './history.ts';
import { createWorktree, mergeBack, mergeState, type NodeWorktree, removeWorktree } from './node-merge.ts';

/** What {@link Workspace.finish} does when the node's changes conflict with the workspace. */
export interface FinishOptions {
  /**
   * `fail`: the node's branch and worktree are kept as the node left them. `pause`: kept too,
   * and the merge with the workspace is started in the worktree (conflict markers) for a human
   * to resolve there, or in the workspace; a later `finish(true)` takes their resolution.
   * @default 'fail'
   */
  readonly onConflict?: 'pause' | 'fail';
}

/** A folder an agent works in, and what to do with its changes when it is done. */
export interface Workspace {
  readonly cwd: string;
  /**
   * Merges an isolated worktree's changes back (ok) or discards them (not ok). Nothing for
   * the shared workspace.
   * @throws OrchestratorError `MERGE_CONFLICT` naming the files, with `details.branch`,
   * `details.worktree` and `details.repository`: nothing was written and nothing is lost.
   */
  finish(ok: boolean, options?: FinishOptions): Promise<void>;
}

/**
 * Session workspaces and isolated per-node worktrees. A node that runs `isolated` gets a
 * worktree of the session's history repository (never of a repository the user keeps in the
 * workspace, which is not written at all), on its own branch made from a snapshot of the
 * workspace's files as they stood when the node started; when the node succeeds its changes
 * are merged with the workspace as it is then and written into it (see `node-merge.ts`). A
 * conflict writes nothing and keeps the node's branch and worktree: never a silent overwrite,
 * never lost work. Operations on one workspace are serialized.
 */
export class WorkspaceManager {
  readonly #root: string;
  readonly #history: WorkspaceHistory;
  readonly #locks = new Map<string, Promise<unknown>>();

  /**
   * @param root folder for worktrees (under the data directory)
   * @param history the sessions' history repositories (the one versions record into)
   */
  constructor(root: string, history: WorkspaceHistory) {
    this.#root = root;
    this.#history = history;
  }

  /**
   * Creates (or reuses) a session workspace folder; existing folders are used as they are.
   * Synchronous inside: one `mkdir` takes about 0.2 ms here, and the trip through the thread
   * pool held every `startWorkflow` and resume 0.3-0.5 ms longer (runs alternating with the
   * asynchronous call, 1,000-node shapes).
   */
  async ensureSessionWorkspace(dir: string): Promise<string> {
    mkdirSync(dir, { recursive: true });
    return path.resolve(dir);
  }

  /** The shared workspace itself: nothing to merge. */
  shared(cwd: string): Workspace {
    return { cwd, finish: async () => undefined };
  }

  /** A new worktree, on a new branch, of the workspace's files for one node attempt. */
  async isolated(sessionWorkspace: string, sessionId: string, label: string): Promise<Workspace> {
    const wt = this.#worktree(sessionWorkspace, sessionId, label);
    await this.#exclusive(sessionWorkspace, async () => {
      await this.#history.confirmOwner(sessionId);
      await createWorktree(this.#history, wt);
    });
    return this.#workspace(wt);
  }

  /**
   * The worktree an earlier process (or an earlier, interrupted attempt) made for one node
   * attempt, to finish its merge: its workspace (finishing merges it, unless already merged,
   * and removes it), `merged` when the merge is in the session workspace already and the
   * branch is gone, or undefined when neither (the attempt's work is lost and must run again).
   */
  async resumeIsolated(
    sessionWorkspace: string,
    sessionId: string,
    label: string,
  ): Promise<Workspace | 'merged' | undefined> {
    const wt = this.#worktree(sessionWorkspace, sessionId, label);
    const state = await this.#exclusive(sessionWorkspace, () => mergeState(wt));
    if (!state.branch) return state.merged ? 'merged' : undefined;
    return this.#workspace(wt);
  }

  /**
   * Removes what isolated nodes of a session left behind, for retention: its folder under the
   * worktrees root and, in its history repository, the records of those worktrees and the
   * `orchestrator/<sessionId>/...` branches and merge records. Nothing of the workspace is
   * touched.
   * @returns whether a worktree folder was there to remove.
   */
  async removeSessionWorktrees(sessionId: string): Promise<boolean> {
    // A session id is a user's string: one that is no safe name never names a folder here.
    if (!isSafeName(sessionId)) return false;
    const dir = childPath(this.#root, [sessionId], ['sessionId']);
    const existed = await exists(dir);
    await rm(dir, { recursive: true, force: true });
    const repository = this.#history.folder(sessionId);
    if (!(await exists(repository))) return existed;
    const inRepository = (args: string[]) =>
      git(path.dirname(repository), [`--git-dir=${repository}`, ...args], { allowFailure: true });
    await inRepository(['worktree', 'prune']);
    const refs = await inRepository([
      'for-each-ref',
      '--format=%(refname)',
      `refs/heads/orchestrator/${sessionId}/`,
      `refs/orchestrator/merged/${sessionId}/`,
    ]);
    for (const ref of refs.stdout.split('\n').filter(Boolean)) await inRepository(['update-ref', '-d', ref]);
    return existed;
  }

  #worktree(workspace: string, sessionId: string, label: string): NodeWorktree {
    return {
      sessionId,
      label,
      workspace,
      repository: this.#history.folder(sessionId),
      // Safe names under the root: a folder made or removed for it can never be another one.
      dir: childPath(this.#root, [sessionId, label], ['sessionId', 'label']),
      branch: `orchestrator/${sessionId}/${label}`,
    };
  }

  #workspace(wt: NodeWorktree): Workspace {
    return {
      cwd: wt.dir,
      finish: (ok, options = {}) =>
        this.#exclusive(wt.workspace, async () => {
          await this.#history.confirmOwner(wt.sessionId);
          // A conflict throws before the removal: the branch and the worktree stay.
          const state = ok ? await mergeState(wt) : undefined;
          if (state && !state.merged) await mergeBack(this.#history, wt, options.onConflict === 'pause', state);
          await removeWorktree(wt);
        }),
    };
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

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

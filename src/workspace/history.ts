import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/**
 * The history of session workspaces' files, kept in a git repository per session under the
 * data directory (`<root>/<sessionId>.git`), apart from the workspace itself: recording never
 * touches a repository the user keeps in their workspace (its `.git` is ignored, its
 * `.gitignore` honoured). Git stores each file content once, so a version costs in proportion
 * to the files that changed.
 */
export class WorkspaceHistory {
  readonly #root: string;

  /** @param root folder of the per-session repositories */
  constructor(root: string) {
    this.#root = root;
  }

  #gitDir(sessionId: string): string {
    return path.join(this.#root, `${sessionId}.git`);
  }

  /** The session's history repository (which may not exist yet). */
  folder(sessionId: string): string {
    return this.#gitDir(sessionId);
  }

  async #git(sessionId: string, workTree: string | undefined, args: string[], env?: NodeJS.ProcessEnv) {
    const gitDir = this.#gitDir(sessionId);
    const prefix = [`--git-dir=${gitDir}`, ...(workTree ? [`--work-tree=${workTree}`] : [])];
    return git(this.#root, [...prefix, ...args], env ? { env } : {});
  }

  /**
   * Records the workspace's files as they are now and returns the commit (a new one only when
   * something changed).
   */
  async record(sessionId: string, workspace: string, message: string): Promise<string> {
    await mkdir(this.#root, { recursive: true });
    if (!(await exists(this.#gitDir(sessionId)))) await this.#git(sessionId, workspace, ['init', '-q', '-b', 'main']);
    await this.#git(sessionId, workspace, ['add', '-A']);
    const head = await this.#git(sessionId, workspace, ['rev-parse', '-q', '--verify', 'HEAD'], undefined).catch(
      () => undefined,
    );
    const status = await this.#git(sessionId, workspace, ['status', '--porcelain']);
    if (!head || status.stdout !== '') {
      await this.#git(sessionId, workspace, ['commit', '-q', '--allow-empty', '--no-verify', '-m', message]);
    }
    return (await this.#git(sessionId, workspace, ['rev-parse', 'HEAD'])).stdout;
  }

  /**
   * Writes the files of `commit` (recorded for `sessionId`) into `target`, a new folder, and
   * gives `newSessionId` a history that starts with the old one's, so its own versions can be
   * compared with the ones it was forked from.
   */
  async restore(sessionId: string, commit: string, target: string, newSessionId: string): Promise<void> {
    await mkdir(target, { recursive: true });
    const to = this.#gitDir(newSessionId);
    if (!(await exists(to))) await git(this.#root, ['clone', '-q', '--bare', this.#gitDir(sessionId), to]);
    // A private index, so the source repository's index (matching its own workspace) stays as it is.
    const index = path.join(this.#root, `${newSessionId}.restore-index`);
    try {
      const env = { ...process.env, GIT_INDEX_FILE: index };
      await this.#git(newSessionId, target, ['read-tree', commit], env);
      await this.#git(newSessionId, target, ['checkout-index', '-a', '-f'], env);
      await this.#git(newSessionId, target, ['update-ref', 'HEAD', commit]);
    } finally {
      await rm(index, { force: true });
    }
  }

  /** Files that differ between two recorded commits of a session. */
  async changedFiles(sessionId: string, from: string, to: string): Promise<string[]> {
    const { stdout } = await this.#git(sessionId, undefined, ['diff', '--name-only', from, to]);
    return stdout.split('\n').filter(Boolean);
  }

  /** Forgets a session's history (when the session is pruned). */
  async remove(sessionId: string): Promise<void> {
    await rm(this.#gitDir(sessionId), { recursive: true, force: true });
  }
}

import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOrchestratorError, type OrchestratorError } from '../../src/errors/index.ts';
// Internal on purpose: the test reads the history repository's branches and worktrees with git itself.
import { git } from '../../src/workspace/git.ts';
import { WorkspaceHistory, WorkspaceManager } from '../../src/workspace/index.ts';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** Every file under a folder with a digest of its content: a repository's `.git`, compared whole. */
async function digestTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  }
  return out;
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as OrchestratorError,
  );

// Real git, real folders: parallel nodes in isolated worktrees (of the session's history
// repository) merge back, and a conflict is an error naming the files that loses nothing.
describe('isolated worktrees', () => {
  let root: string;
  let session: string;
  let history: WorkspaceHistory;
  let manager: WorkspaceManager;
  const repository = () => history.folder('ses_1');
  const inHistory = (args: string[]) => git(root, [`--git-dir=${repository()}`, ...args], { allowFailure: true });
  const branches = async () =>
    (await inHistory(['branch', '--format=%(refname:short)'])).stdout.split('\n').filter((b) => b.startsWith('orch'));

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'orch-ws-'));
    session = path.join(root, 'session');
    history = new WorkspaceHistory(path.join(root, 'history'));
    manager = new WorkspaceManager(path.join(root, 'worktrees'), history);
    await manager.ensureSessionWorkspace(session);
    await writeFile(path.join(session, 'shared.txt'), 'line one\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('starts each worktree from the workspace as it stood, and merges both back', async () => {
    await writeFile(path.join(session, 'old.txt'), 'to delete\n');
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    expect(await readFile(path.join(a.cwd, 'shared.txt'), 'utf8')).toBe('line one\n');
    await mkdir(path.join(a.cwd, 'src', 'deep'), { recursive: true });
    await writeFile(path.join(a.cwd, 'src', 'deep', 'a.txt'), 'from a\n');
    await writeFile(path.join(b.cwd, 'b.txt'), 'from b\n');
    await rm(path.join(b.cwd, 'old.txt'));
    await Promise.all([a.finish(true), b.finish(true)]);
    expect(await readFile(path.join(session, 'src', 'deep', 'a.txt'), 'utf8')).toBe('from a\n');
    expect(await readFile(path.join(session, 'b.txt'), 'utf8')).toBe('from b\n');
    expect(await exists(path.join(session, 'old.txt'))).toBe(false);
    // Nothing of git in the workspace, and nothing left of the worktrees and branches.
    expect(await exists(path.join(session, '.git'))).toBe(false);
    expect(await exists(a.cwd)).toBe(false);
    expect(await branches()).toEqual([]);
    // The merge is recorded: a restart finds it done, not lost.
    expect(await manager.resumeIsolated(session, 'ses_1', 'a-1')).toBe('merged');
    expect(await manager.resumeIsolated(session, 'ses_1', 'c-1')).toBeUndefined();
  });

  it('fails a conflicting merge with the file named, leaves the workspace as it was, and keeps the work', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    await writeFile(path.join(a.cwd, 'shared.txt'), 'line one, by a\n');
    await writeFile(path.join(b.cwd, 'shared.txt'), 'line one, by b\n');
    await writeFile(path.join(b.cwd, 'more.txt'), 'more by b\n');
    await a.finish(true);
    const failure = await failureOf(b.finish(true));
    expect(isOrchestratorError(failure, 'MERGE_CONFLICT')).toBe(true);
    expect(failure?.message).toContain('shared.txt');
    expect(failure?.details).toMatchObject({
      files: ['shared.txt'],
      branch: 'orchestrator/ses_1/b-1',
      worktree: b.cwd,
      repository: repository(),
      unchanged: false,
    });
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one, by a\n');
    expect(await exists(path.join(session, 'more.txt'))).toBe(false);
    // The node's work: in its worktree as it left it, and committed on its branch.
    expect(await readFile(path.join(b.cwd, 'shared.txt'), 'utf8')).toBe('line one, by b\n');
    expect(await branches()).toEqual(['orchestrator/ses_1/b-1']);
    expect((await inHistory(['show', 'orchestrator/ses_1/b-1:shared.txt'])).stdout).toBe('line one, by b');
    expect((await inHistory(['show', 'orchestrator/ses_1/b-1:more.txt'])).stdout).toBe('more by b');
  });

  it('with a merge left for a human, takes the resolution made in the worktree', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    await writeFile(path.join(a.cwd, 'shared.txt'), 'line one, by a\n');
    await writeFile(path.join(b.cwd, 'shared.txt'), 'line one, by b\n');
    await writeFile(path.join(b.cwd, 'more.txt'), 'more by b\n');
    await a.finish(true);
    expect((await failureOf(b.finish(true, { onConflict: 'pause' })))?.code).toBe('MERGE_CONFLICT');
    const marked = await readFile(path.join(b.cwd, 'shared.txt'), 'utf8');
    expect(marked).toContain('<<<<<<< HEAD\nline one, by b\n=======\nline one, by a\n>>>>>>>');
    // Approved without resolving anything: the same conflict, marked as such.
    const again = await failureOf(b.finish(true, { onConflict: 'pause' }));
    expect(again?.details).toMatchObject({ files: ['shared.txt'], unchanged: true });
    // A restarted process finds the worktree waiting, and finishes it once resolved.
    const restarted = new WorkspaceManager(
      path.join(root, 'worktrees'),
      new WorkspaceHistory(path.join(root, 'history')),
    );
    const kept = await restarted.resumeIsolated(session, 'ses_1', 'b-1');
    expect(kept).toMatchObject({ cwd: b.cwd });
    await writeFile(path.join(b.cwd, 'shared.txt'), 'line one, by a and b\n');
    await (kept as Exclude<typeof kept, 'merged' | undefined>).finish(true, { onConflict: 'pause' });
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one, by a and b\n');
    expect(await readFile(path.join(session, 'more.txt'), 'utf8')).toBe('more by b\n');
    expect(await exists(b.cwd)).toBe(false);
    expect(await branches()).toEqual([]);
  });

  it('with a merge left for a human, takes the resolution made in the workspace', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    await writeFile(path.join(a.cwd, 'shared.txt'), 'line one, by a\n');
    await writeFile(path.join(b.cwd, 'shared.txt'), 'line one, by b\n');
    await writeFile(path.join(b.cwd, 'more.txt'), 'more by b\n');
    await a.finish(true);
    await failureOf(b.finish(true, { onConflict: 'pause' }));
    await writeFile(path.join(session, 'shared.txt'), 'line one, settled in the workspace\n');
    await b.finish(true, { onConflict: 'pause' });
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one, settled in the workspace\n');
    expect(await readFile(path.join(session, 'more.txt'), 'utf8')).toBe('more by b\n');
  });

  it("never writes a user's repository: staged, unstaged and untracked work stay as they were", async () => {
    const user = (args: string[]) => git(session, args);
    await user(['init', '-q', '-b', 'trunk']);
    await writeFile(path.join(session, 'notes.md'), 'one\ntwo\nthree\n');
    await user(['add', '-A']);
    await user(['commit', '-q', '-m', 'first']);
    await user(['branch', 'topic']);
    await writeFile(path.join(session, 'stashed.txt'), 'stashed\n');
    await user(['add', 'stashed.txt']);
    await user(['stash', '-q']);
    await writeFile(path.join(session, 'staged.txt'), 'staged\n');
    await user(['add', 'staged.txt']);
    await writeFile(path.join(session, 'notes.md'), 'one, edited by the user\ntwo\nthree\n');
    await writeFile(path.join(session, 'untracked.txt'), 'untracked\n');
    const facts = async () => ({
      status: (await user(['status', '--porcelain'])).stdout,
      head: (await user(['rev-parse', 'HEAD'])).stdout,
      refs: (await user(['for-each-ref', '--format=%(refname) %(objectname)'])).stdout,
      staged: (await user(['diff', '--cached'])).stdout,
      stashes: (await user(['stash', 'list'])).stdout,
      worktrees: (await user(['worktree', 'list', '--porcelain'])).stdout,
    });
    const before = await facts();
    const dotGit = await digestTree(path.join(session, '.git'));

    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    // The nodes start from the files as they are, uncommitted work included.
    expect(await readFile(path.join(a.cwd, 'notes.md'), 'utf8')).toBe('one, edited by the user\ntwo\nthree\n');
    expect(await readFile(path.join(a.cwd, 'untracked.txt'), 'utf8')).toBe('untracked\n');
    await writeFile(path.join(a.cwd, 'a.txt'), 'from a\n');
    await writeFile(path.join(b.cwd, 'notes.md'), 'one, edited by the user\ntwo\nthree, edited by b\n');
    await Promise.all([a.finish(true), b.finish(true)]);

    expect(await digestTree(path.join(session, '.git'))).toEqual(dotGit);
    const after = await facts();
    expect(after).toEqual({ ...before, status: after.status });
    expect(after.status.split('\n').sort()).toEqual([...before.status.split('\n'), '?? a.txt'].sort());
    expect(await readFile(path.join(session, 'notes.md'), 'utf8')).toBe(
      'one, edited by the user\ntwo\nthree, edited by b\n',
    );
    expect(await readFile(path.join(session, 'staged.txt'), 'utf8')).toBe('staged\n');
    expect(await readFile(path.join(session, 'untracked.txt'), 'utf8')).toBe('untracked\n');
  });

  it("never lets what an agent puts at its worktree's .git choose the repository its work is committed in", async () => {
    // A user's repository elsewhere, and a marker only a command run by git would make.
    const other = path.join(root, 'user-repo');
    await mkdir(other, { recursive: true });
    await git(other, ['init', '-q', '-b', 'trunk']);
    await writeFile(path.join(other, 'mine.txt'), 'mine\n');
    await git(other, ['add', '-A']);
    await git(other, ['commit', '-q', '-m', 'first']);
    const otherGit = await digestTree(path.join(other, '.git'));
    const marker = path.join(root, 'ran-outside-the-sandbox');

    // One agent swaps its .git file for a repository of its own whose config runs a command
    // whenever git looks at the work tree or commits; another points its .git file at the user's.
    const own = await manager.isolated(session, 'ses_1', 'own-1');
    await rm(path.join(own.cwd, '.git'));
    await git(own.cwd, ['init', '-q']);
    await git(own.cwd, ['config', 'core.fsmonitor', `touch ${marker}; false`]);
    await writeFile(path.join(own.cwd, '.git', 'hooks', 'post-commit'), `#!/bin/sh\ntouch ${marker}\n`, {
      mode: 0o755,
    });
    await writeFile(path.join(own.cwd, 'own.txt'), 'from own\n');
    await own.finish(true);
    const pointed = await manager.isolated(session, 'ses_1', 'pointed-1');
    await writeFile(path.join(pointed.cwd, '.git'), `gitdir: ${path.join(other, '.git')}\n`);
    await writeFile(path.join(pointed.cwd, 'pointed.txt'), 'from pointed\n');
    await pointed.finish(true);

    expect(await exists(marker)).toBe(false);
    expect(await digestTree(path.join(other, '.git'))).toEqual(otherGit);
    // Their work still comes back, and nothing of either .git.
    expect(await readFile(path.join(session, 'own.txt'), 'utf8')).toBe('from own\n');
    expect(await readFile(path.join(session, 'pointed.txt'), 'utf8')).toBe('from pointed\n');
    expect(await exists(path.join(session, '.git'))).toBe(false);
    expect(await branches()).toEqual([]);
  });

  it('keeps, and does not merge, a worktree folder git has forgotten (its .git removed, then pruned)', async () => {
    const lost = await manager.isolated(session, 'ses_1', 'lost-1');
    await writeFile(path.join(lost.cwd, 'work.txt'), 'not committed yet\n');
    await rm(path.join(lost.cwd, '.git'));
    await inHistory(['worktree', 'prune']);
    const error = await failureOf(lost.finish(true));
    expect(error?.code).toBe('WORKSPACE_FAILED');
    expect(error?.message).toContain('its files were not merged, and are kept');
    expect(await readFile(path.join(lost.cwd, 'work.txt'), 'utf8')).toBe('not committed yet\n');
    expect(await exists(path.join(session, 'work.txt'))).toBe(false);
  });

  it('discards the changes of a node that failed', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    await writeFile(path.join(a.cwd, 'half-done.txt'), 'oops\n');
    await a.finish(false);
    await expect(readFile(path.join(session, 'half-done.txt'), 'utf8')).rejects.toThrow();
    expect(await branches()).toEqual([]);
  });

  it("waits out another git process's lock while it makes and removes a worktree, and names a lock never released", async () => {
    const first = await manager.isolated(session, 'ses_1', 'a-1');
    await first.finish(true);
    // Deleting a ref (the first step of making a worktree, the last of removing one) takes this lock.
    const lock = path.join(repository(), 'packed-refs.lock');
    const whileHeld = async <T>(task: () => Promise<T>): Promise<T> => {
      await writeFile(lock, '');
      const release = setTimeout(() => void rm(lock, { force: true }), 150);
      try {
        return await task();
      } finally {
        clearTimeout(release);
        await rm(lock, { force: true });
      }
    };
    const b = await whileHeld(() => manager.isolated(session, 'ses_1', 'b-1'));
    await writeFile(path.join(b.cwd, 'b.txt'), 'from b\n');
    await b.finish(true);
    expect(await readFile(path.join(session, 'b.txt'), 'utf8')).toBe('from b\n');
    const c = await manager.isolated(session, 'ses_1', 'c-1');
    await whileHeld(() => c.finish(false));
    expect(await exists(b.cwd)).toBe(false);
    expect(await exists(c.cwd)).toBe(false);
    expect(await branches()).toEqual([]);

    await writeFile(lock, '');
    const error = await failureOf(manager.isolated(session, 'ses_1', 'd-1'));
    expect(error?.code).toBe('WORKSPACE_FAILED');
    expect(error?.message).toContain('packed-refs.lock');
    await rm(lock, { force: true });
  }, 20_000);

  it('removes what a killed session left (worktree folders, records, branches) and nothing of others', async () => {
    // Never finished: as a killed process leaves them.
    await manager.isolated(session, 'ses_1', 'a-1');
    await manager.isolated(session, 'ses_1', 'b-1');
    const other = await manager.isolated(session, 'ses_2', 'a-1');
    expect(await manager.removeSessionWorktrees('ses_1')).toBe(true);
    expect(await exists(path.join(root, 'worktrees', 'ses_1'))).toBe(false);
    expect(await branches()).toEqual([]);
    expect((await inHistory(['worktree', 'list', '--porcelain'])).stdout).not.toContain(
      path.join('worktrees', 'ses_1'),
    );
    const otherRepository = history.folder('ses_2');
    const otherList = await git(root, [`--git-dir=${otherRepository}`, 'worktree', 'list', '--porcelain']);
    expect(otherList.stdout).toContain(other.cwd);
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one\n');
    // Nothing left: nothing to remove; an id that is no folder name never becomes a path.
    expect(await manager.removeSessionWorktrees('ses_1')).toBe(false);
    expect(await manager.removeSessionWorktrees('..')).toBe(false);
    expect(await exists(root)).toBe(true);
  });
});

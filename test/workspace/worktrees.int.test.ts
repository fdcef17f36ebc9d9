import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
// Internal on purpose: the test lists the workspace's branches and worktrees with git itself.
import { git } from '../../src/workspace/git.ts';
import { WorkspaceManager } from '../../src/workspace/index.ts';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

// Real git, real folders: parallel nodes in isolated worktrees merge back, and a conflict is
// an error naming the files, never a silent overwrite.
describe('isolated worktrees', () => {
  let root: string;
  let session: string;
  let manager: WorkspaceManager;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'orch-ws-'));
    session = path.join(root, 'session');
    manager = new WorkspaceManager(path.join(root, 'worktrees'));
    await manager.ensureSessionWorkspace(session);
    await writeFile(path.join(session, 'shared.txt'), 'line one\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('starts each worktree from the workspace as it stood, and merges both back', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    expect(await readFile(path.join(a.cwd, 'shared.txt'), 'utf8')).toBe('line one\n');
    await writeFile(path.join(a.cwd, 'a.txt'), 'from a\n');
    await writeFile(path.join(b.cwd, 'b.txt'), 'from b\n');
    await Promise.all([a.finish(true), b.finish(true)]);
    expect(await readFile(path.join(session, 'a.txt'), 'utf8')).toBe('from a\n');
    expect(await readFile(path.join(session, 'b.txt'), 'utf8')).toBe('from b\n');
  });

  it('fails a conflicting merge with the file named and leaves the workspace as it was', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    const b = await manager.isolated(session, 'ses_1', 'b-1');
    await writeFile(path.join(a.cwd, 'shared.txt'), 'line one, by a\n');
    await writeFile(path.join(b.cwd, 'shared.txt'), 'line one, by b\n');
    await a.finish(true);
    const failure = await b.finish(true).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isOrchestratorError(failure, 'MERGE_CONFLICT')).toBe(true);
    expect((failure as Error).message).toContain('shared.txt');
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one, by a\n');
  });

  it('discards the changes of a node that failed', async () => {
    const a = await manager.isolated(session, 'ses_1', 'a-1');
    await writeFile(path.join(a.cwd, 'half-done.txt'), 'oops\n');
    await a.finish(false);
    await expect(readFile(path.join(session, 'half-done.txt'), 'utf8')).rejects.toThrow();
  });

  it('removes what a killed session left (worktree folders, records, branches) and nothing of others', async () => {
    // Never finished: as a killed process leaves them.
    await manager.isolated(session, 'ses_1', 'a-1');
    await manager.isolated(session, 'ses_1', 'b-1');
    const other = await manager.isolated(session, 'ses_2', 'a-1');
    expect(await manager.removeSessionWorktrees('ses_1', session)).toBe(true);
    expect(await exists(path.join(root, 'worktrees', 'ses_1'))).toBe(false);
    const branches = (await git(session, ['branch', '--format=%(refname:short)'])).stdout.split('\n');
    expect(branches.filter((b) => b.startsWith('orchestrator/'))).toEqual(['orchestrator/ses_2/a-1']);
    const worktrees = (await git(session, ['worktree', 'list', '--porcelain'])).stdout;
    expect(worktrees).not.toContain(path.join('worktrees', 'ses_1'));
    expect(worktrees).toContain(other.cwd);
    expect(await readFile(path.join(session, 'shared.txt'), 'utf8')).toBe('line one\n');
    // Nothing left: nothing to remove; an id that is no folder name never becomes a path.
    expect(await manager.removeSessionWorktrees('ses_1', session)).toBe(false);
    expect(await manager.removeSessionWorktrees('..', session)).toBe(false);
    expect(await exists(root)).toBe(true);
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import { WorkspaceManager } from '../../src/workspace/index.ts';

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
});

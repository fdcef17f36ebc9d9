import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkspaceHistory, WorkspaceManager } from '../../src/workspace/index.ts';
import { caseReport, errorOf } from './report.ts';
import { listTree } from './tree.ts';

// Paths built from a session id and a label (worktrees, history repositories) are refused
// before any git command or `rm -rf` runs when the id is no safe name: a folder beside the
// data directory, which a `../victim` id would have named, is never touched.

const report = caseReport('worktrees');
let root: string;
let victim: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orch-hostile-worktrees-'));
  victim = path.join(root, 'victim');
  await mkdir(path.join(root, 'data', 'worktrees'), { recursive: true });
  await mkdir(victim);
  await writeFile(path.join(victim, 'precious.txt'), 'do not remove\n');
});
afterAll(async () => {
  report.print();
  await rm(root, { recursive: true, force: true });
});

describe('worktrees and history of a hostile session id', () => {
  const ids = ['../../victim', '../victim', '..', '/tmp', 'a/../../../victim'];
  it.each(ids)('nothing is created or removed for %j', async (id) => {
    const history = new WorkspaceHistory(path.join(root, 'data', 'history'));
    const worktrees = new WorkspaceManager(path.join(root, 'data', 'worktrees'), history);
    const before = await listTree(root);
    for (const [name, attempt] of [
      ['isolated', () => worktrees.isolated(victim, id, 'build-1')],
      ['resumeIsolated', () => worktrees.resumeIsolated(victim, id, 'build-1')],
      ['isolated label', () => worktrees.isolated(victim, 'ses_1', `../../../victim`)],
      ['history.remove', () => history.remove(id)],
      ['history.record', () => history.record(id, victim, 'x')],
    ] as const) {
      const error = await errorOf(attempt);
      expect(error.code, name).toBe('INVALID_ARGUMENT');
      report.note(`${name} ${JSON.stringify(id)}`, 'refused', error.message);
    }
    expect(await worktrees.removeSessionWorktrees(id)).toBe(false);
    report.note(`removeSessionWorktrees ${JSON.stringify(id)}`, 'nothing removed');
    expect(await listTree(root)).toEqual(before);
    expect(await readFile(path.join(victim, 'precious.txt'), 'utf8')).toBe('do not remove\n');
  });
});

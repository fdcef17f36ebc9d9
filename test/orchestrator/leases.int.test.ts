import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { SessionLeases } from '../../src/orchestrator/index.ts';
import { SqliteEventStore } from '../../src/store/index.ts';
import { WorkspaceHistory } from '../../src/workspace/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'orch-leases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The real timer: the leases' own renewal timers are faked below, so that they never run.
const realSetTimeout = globalThis.setTimeout;
const sleep = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as OrchestratorError,
  );

// A process frozen past its lease (SIGSTOP, a paused VM) wakes in the middle of work on the
// session's files, before its renewal timer runs: `confirm` is what stops it there.
describe('SessionLeases.confirm', () => {
  // A frozen process runs no timer: its leases are never renewed in the background.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('passes while the lease holds, renews it past its deadline, and refuses once another owner has it', async () => {
    const store = await SqliteEventStore.open({ path: path.join(dir, 'confirm.db') });
    const lost: string[] = [];
    const ttlMs = 150;
    const frozen = new SessionLeases({
      store,
      ttlMs,
      owner: { ownerId: 'frozen', host: 'host-a', pid: 1 },
      onLost: (sessionId) => lost.push(sessionId),
    });
    const other = new SessionLeases({
      store,
      ttlMs: 10_000,
      owner: { ownerId: 'other', host: 'host-b', pid: 2 },
      onLost: () => undefined,
    });
    try {
      await frozen.acquire('ses_a');
      await frozen.acquire('ses_b');
      await frozen.confirm('ses_a');
      // A session this process never leased (a fork, an import) is not its to refuse.
      await frozen.confirm('ses_never');
      await sleep(ttlMs * 2);
      // ses_a lapsed and another process took it; ses_b lapsed and nobody did.
      const taken = await other.acquire('ses_a');
      expect(taken.takenOver?.previous.ownerId).toBe('frozen');
      const error = await failureOf(frozen.confirm('ses_a'));
      expect(error?.code).toBe('LEASE_LOST');
      expect(lost).toEqual(['ses_a']);
      const before = frozen.lease('ses_b')?.expiresAt;
      await frozen.confirm('ses_b');
      expect(frozen.lease('ses_b')?.expiresAt).not.toBe(before);
      // And ses_a stays refused, without asking the store again.
      expect((await failureOf(frozen.confirm('ses_a')))?.code).toBe('LEASE_LOST');
      expect(lost).toEqual(['ses_a']);
    } finally {
      await frozen.close();
      await other.close();
      await store.close();
    }
  });

  it('stops a history recording of a lost session before git touches its repository', async () => {
    const store = await SqliteEventStore.open({ path: path.join(dir, 'history.db') });
    const leases = new SessionLeases({
      store,
      ttlMs: 100,
      owner: { ownerId: 'frozen', host: 'host-a', pid: 1 },
      onLost: () => undefined,
    });
    const other = new SessionLeases({
      store,
      ttlMs: 10_000,
      owner: { ownerId: 'other', host: 'host-b', pid: 2 },
      onLost: () => undefined,
    });
    const history = new WorkspaceHistory(path.join(dir, 'history'), (sessionId) => leases.confirm(sessionId));
    const workspace = path.join(dir, 'workspace');
    await mkdir(workspace, { recursive: true });
    await writeFile(path.join(workspace, 'a.txt'), 'a');
    try {
      await leases.acquire('ses_h');
      await history.record('ses_h', workspace, 'first');
      await sleep(300);
      await other.acquire('ses_h');
      const error = await failureOf(history.record('ses_h', workspace, 'second'));
      expect(error?.code).toBe('LEASE_LOST');
    } finally {
      await leases.close();
      await other.close();
      await store.close();
    }
  });
});

describe('git lock files', () => {
  it('waits for a lock another git process holds for a moment, and fails naming it when it stays', async () => {
    const { git } = await import('../../src/workspace/git.ts');
    const repo = path.join(dir, 'locked');
    await mkdir(repo, { recursive: true });
    await git(repo, ['init', '-q', '-b', 'main']);
    await writeFile(path.join(repo, 'f.txt'), 'x');
    const lock = path.join(repo, '.git', 'index.lock');
    await writeFile(lock, '');
    setTimeout(() => void rm(lock, { force: true }), 150);
    await git(repo, ['add', '-A']);
    expect((await git(repo, ['status', '--porcelain'])).stdout).toContain('A  f.txt');

    await writeFile(lock, '');
    await writeFile(path.join(repo, 'g.txt'), 'y');
    const error = await failureOf(git(repo, ['add', '-A']));
    expect(error?.code).toBe('WORKSPACE_FAILED');
    expect(error?.message).toContain('index.lock');
  }, 20_000);
});

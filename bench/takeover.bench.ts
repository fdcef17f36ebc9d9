/**
 * Time from an owner's SIGKILL to another process taking its session over (issue 9 target: the
 * lease time + 1 s; default lease 10 s). Two cases: on the same host, where the dead pid is seen
 * at once; and from another host, which cannot see the pid and waits for the lease to lapse (the
 * new owner asks every 100 ms, as a worker polling for work would).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SessionLeases } from '../src/orchestrator/index.ts';
import { openEventStore } from '../src/store/index.ts';
import type { BenchFigure } from './run.ts';

const TTL_MS = 10_000;
const POLL_MS = 100;

async function killAndTakeOver(dir: string, sameHost: boolean): Promise<number> {
  const file = path.join(dir, 'events.db');
  const sessionId = `ses_takeover_${sameHost ? 'host' : 'remote'}`;
  const owner = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 'support', 'lease-owner.ts'), file, sessionId, String(TTL_MS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [ready] = (await once(owner.stdout, 'data')) as [Buffer];
  if (!ready.toString().includes('ready')) throw new Error('the owner did not start');
  const store = await openEventStore({ kind: 'sqlite', path: file });
  // Another host cannot check the owner's pid: only the lease's expiry counts.
  const leases = new SessionLeases({
    store,
    ttlMs: TTL_MS,
    onLost: () => undefined,
    owner: {
      ownerId: `bench-${sameHost}`,
      host: sameHost ? (await import('node:os')).hostname() : 'elsewhere',
      pid: process.pid,
    },
  });
  owner.kill('SIGKILL');
  await once(owner, 'exit');
  const killedAt = performance.now();
  try {
    for (;;) {
      try {
        await leases.acquire(sessionId);
        return performance.now() - killedAt;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SESSION_BUSY') throw error;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } finally {
    await leases.close();
    await store.close();
  }
}

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-takeover-'));
  try {
    const sameHost = await killAndTakeOver(dir, true);
    const remote = await killAndTakeOver(dir, false);
    return [
      { name: 'SIGKILL to takeover, same host (dead pid seen)', value: sameHost, unit: 'ms' },
      {
        name: `SIGKILL to takeover, another host (lease ${TTL_MS / 1000} s lapses)`,
        value: remote,
        unit: 'ms',
        target: `<= ${TTL_MS + 1000}`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { replay } from '../../src/workflow/index.ts';
import { describeResult, REPO_ROOT, startScript, tempDir, waitFor } from '../support/cli-kit.ts';

// `close()` right after a run stores the run's last version: the state cut into chunks, their
// blobs written without an fsync of their own, the version row with one, the workspace's
// history, then the store's checkpoint. A process SIGKILLed anywhere in that must lose nothing
// the log committed, and leave no version that does not load or does not match the log: each
// stored version is verified on load and equals the log replayed up to its position. A
// version taken afterwards (by a process with no memory of the dead one's chunks) does too. A
// process killed in the middle of the run, resumed by another, runs no completed node again.

const RUN_THEN_CLOSE = path.join(REPO_ROOT, 'test', 'fixtures', 'sessions', 'run-then-close.ts');
const LAYERS = '40';
const WIDTH = '50';
const NODES = Number(LAYERS) * Number(WIDTH);

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('kill-close');
});
afterAll(async () => {
  await tmp?.cleanup();
});

/**
 * Runs the fixture in its own data directory and SIGKILLs it while it closes: `killAfterMs`
 * after its result, or the moment it says it stopped at `stopAt` (see the fixture); neither:
 * left alone.
 */
async function runAndKill(name: string, kill: { killAfterMs?: number; stopAt?: string } = {}) {
  const dataDir = path.join(tmp.dir, name);
  const child = startScript(RUN_THEN_CLOSE, [dataDir, LAYERS, WIDTH], {
    ...(kill.stopAt && { env: { STOP_AT: kill.stopAt } }),
  });
  const sessionId = await waitFor(
    () => {
      if (child.child.exitCode !== null) throw new Error(`the run ended early:\n${child.stdout()}${child.stderr()}`);
      return /^result (\S+)$/m.exec(child.stdout())?.[1];
    },
    'the run to reach its result',
    { timeoutMs: 60_000, intervalMs: 1 },
  );
  if (kill.killAfterMs !== undefined) setTimeout(() => child.child.kill('SIGKILL'), kill.killAfterMs);
  if (kill.stopAt !== undefined) {
    await waitFor(() => child.stdout().includes(`at ${kill.stopAt}\n`), `the close to reach ${kill.stopAt}`, {
      timeoutMs: 30_000,
      intervalMs: 1,
    });
    child.child.kill('SIGKILL');
  }
  const ended = await child.exited;
  const closedMs = /^closed (\d+)$/m.exec(ended.stdout)?.[1];
  return { dataDir, sessionId, ended, closedMs: closedMs === undefined ? undefined : Number(closedMs) };
}

/** Everything the data directory holds of the session is whole and agrees with its log. */
async function expectWhole(dataDir: string, sessionId: string) {
  const orchestrator = await Orchestrator.open({ config: { dataDir, logLevel: 'silent' } });
  try {
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(sessionId)) events.push(event);
    const present = replay(sessionId, events);
    const workflow = Object.values(present.workflows)[0];
    expect(workflow?.status).toBe('completed');
    expect(Object.values(workflow?.nodes ?? {}).filter((node) => node.status === 'completed')).toHaveLength(NODES);

    const records = await orchestrator.sessions.versions.list(sessionId);
    // None when the kill came before the first was stored: a version is derived, the log is the truth.
    for (const record of records) {
      const { state } = await orchestrator.sessions.versions.load(sessionId, record.version);
      expect(state, `version ${record.version} at seq ${record.seq}`).toEqual(
        replay(
          sessionId,
          events.filter((event) => event.seq <= record.seq),
        ),
      );
    }
    const corrupt: unknown[] = [];
    expect(await orchestrator.sessions.state(sessionId, (error) => corrupt.push(error))).toEqual(present);
    expect(corrupt).toEqual([]);

    const taken = await orchestrator.takeVersion(sessionId);
    const { state } = await orchestrator.sessions.versions.load(sessionId, taken.version);
    // The version event the take appended is the one thing the log has beyond `present`.
    expect(state).toEqual(replay(sessionId, events));
    return records;
  } finally {
    await orchestrator.close();
  }
}

describe('a process SIGKILLed while close() stores the last version', () => {
  let closeMs = 0;

  it('closes cleanly when left alone, with the final version stored', { timeout: 120_000 }, async () => {
    const run = await runAndKill('clean');
    expect(run.ended.code, describeResult(run.ended)).toBe(0);
    closeMs = run.closedMs ?? 0;
    expect(closeMs).toBeGreaterThan(0);
    const records = await expectWhole(run.dataDir, run.sessionId);
    // The last version covers the whole run.
    expect(records.at(-1)?.seq).toBeGreaterThanOrEqual(NODES * 2);
  });

  // At each await of the store on the way to the last version.
  it.each([
    ['before-blobs', false],
    ['after-blobs', false],
    ['after-version', true],
  ] as const)('killed at %s: nothing lost, every version whole', { timeout: 120_000 }, async (stopAt, stored) => {
    const run = await runAndKill(`at-${stopAt}`, { stopAt });
    expect(run.ended.signal, describeResult(run.ended)).toBe('SIGKILL');
    const records = await expectWhole(run.dataDir, run.sessionId);
    // Whether the last version made it: only once its row is committed.
    expect(records.some((record) => record.seq >= NODES * 2)).toBe(stored);
  });

  // And at moments spread over the time a clean close took (the cut, the workspace's history,
  // the store's checkpoint), as far as a timer after the result reaches them.
  it.each([0, 0.25, 0.5, 0.75, 0.9, 1])(
    'killed at %d of the close: nothing lost, every version whole',
    {
      timeout: 120_000,
    },
    async (fraction) => {
      const run = await runAndKill(`after-${fraction}`, { killAfterMs: Math.round(fraction * closeMs) });
      await expectWhole(run.dataDir, run.sessionId);
    },
  );
});

/** Functions for the fixture's workflow (see run-then-close.ts) that count their calls. */
function countedFunctions(calls: Map<string, number>) {
  const ids = Array.from({ length: NODES }, (_, i) => `l${Math.floor(i / Number(WIDTH))}_${i % Number(WIDTH)}`);
  return Object.fromEntries(
    ids.map((id) => [
      id,
      () => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        return { node: id, done: true };
      },
    ]),
  );
}

describe('a process SIGKILLed in the middle of a run', () => {
  // Frozen inside a node's function, then killed: in the first layer, in the middle (versions
  // cut as the run goes) and in the last layer. Each function waits for a turn of the event
  // loop first, as one doing I/O would, so the run commits as it goes.
  it.each(['l0_1', `l${Number(LAYERS) / 2}_7`, `l${Number(LAYERS) - 1}_42`])(
    'killed while %s runs: resumed, no completed node runs again, every version whole',
    { timeout: 120_000 },
    async (stopInNode) => {
      const dataDir = path.join(tmp.dir, `mid-run-${stopInNode}`);
      const child = startScript(RUN_THEN_CLOSE, [dataDir, LAYERS, WIDTH], {
        env: { STOP_IN_NODE: stopInNode, AWAIT_IO: '1' },
      });
      await waitFor(
        () => {
          if (child.child.exitCode !== null)
            throw new Error(`the run ended early:\n${child.stdout()}${child.stderr()}`);
          return child.stdout().includes(`at node ${stopInNode}\n`);
        },
        `${stopInNode} to run`,
        { timeoutMs: 60_000, intervalMs: 1 },
      );
      child.child.kill('SIGKILL');
      const ended = await child.exited;
      expect(ended.signal, describeResult(ended)).toBe('SIGKILL');
      const sessionId = `ses_killed_${child.pid}`;

      const orchestrator = await Orchestrator.open({ config: { dataDir, logLevel: 'silent' } });
      const calls = new Map<string, number>();
      const completedBefore: string[] = [];
      try {
        for await (const event of orchestrator.log.readAll(sessionId)) {
          if (event.type === 'node.completed') completedBefore.push(event.data.nodeId);
        }
        const handle = await orchestrator.resumeSession(sessionId, { functions: countedFunctions(calls) });
        expect((await handle.result).status).toBe('completed');
      } finally {
        await orchestrator.close();
      }
      // The kill came mid-run: beyond the first layer, with nodes done before it.
      if (!stopInNode.startsWith('l0_')) expect(completedBefore.length).toBeGreaterThan(0);
      expect(completedBefore).not.toContain(stopInNode);
      expect(calls.get(stopInNode)).toBe(1);
      // Each node completed once over both processes: the resume ran the rest, once each.
      expect([...calls.keys()].filter((id) => completedBefore.includes(id))).toEqual([]);
      expect(calls.size + completedBefore.length).toBe(NODES);
      expect([...calls.values()].every((n) => n === 1)).toBe(true);
      await expectWhole(dataDir, sessionId);
    },
  );
});

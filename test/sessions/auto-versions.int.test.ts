import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { FALLBACK_SCENARIO, Orchestrator } from '../../src/orchestrator/index.ts';
import { StateChunker, writeSnapshot } from '../../src/sessions/index.ts';
import { defineWorkflow, replay } from '../../src/workflow/index.ts';
import { tempDir } from '../support/cli-kit.ts';

// The real orchestrator on SQLite: versions taken while a run goes on (incrementally, from the
// chunks the follower's events changed, with changes cut between versions) each load back,
// verified, to exactly the replay of the log up to their sequence number.

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('auto-versions');
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** A chain of `n` function nodes as a compiled workflow. */
function chainWorkflow(name: string, n: number) {
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    agent: 'noop',
    task: 'noop',
    dependsOn: i === 0 ? [] : [`n${i - 1}`],
  }));
  const workflow = defineWorkflow({
    name,
    agents: { noop: { systemPrompt: 'unused' } },
    concurrency: 64,
    limits: { maxNodes: 10_000 },
    nodes,
  });
  return { workflow, ids: nodes.map((node) => node.id) };
}

/** The session's versions once its last one (stored after the result) is there, waited for boundedly. */
async function versionsToTheEnd(orchestrator: Orchestrator, sessionId: string) {
  const lastSeq = await orchestrator.log.lastSeq(sessionId);
  const deadline = Date.now() + 20_000;
  let versions = await orchestrator.sessions.versions.list(sessionId);
  while (versions.at(-1)?.seq !== lastSeq && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    versions = await orchestrator.sessions.versions.list(sessionId);
  }
  return versions;
}

describe('versions taken during a run', () => {
  it('each equal the replay of the log up to their point, and the last one the end of the run', async () => {
    const orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: path.join(tmp.dir, 'orchestrator'), logLevel: 'silent' }, {}),
      scenario: FALLBACK_SCENARIO,
    });
    try {
      // A chain and a fan beside it, each node a little slow, so the run lasts long enough for
      // several versions, some while nodes of the fan are in flight.
      const nodes = [
        ...Array.from({ length: 150 }, (_, i) => ({
          id: `c${i}`,
          agent: 'noop',
          task: 'noop',
          dependsOn: i === 0 ? [] : [`c${i - 1}`],
        })),
        ...Array.from({ length: 60 }, (_, i) => ({ id: `f${i}`, agent: 'noop', task: 'noop', dependsOn: [] })),
      ];
      const workflow = defineWorkflow({
        name: 'mid-run',
        agents: { noop: { systemPrompt: 'unused' } },
        concurrency: 8,
        limits: { maxNodes: 1000 },
        nodes,
      });
      const functions = Object.fromEntries(
        nodes.map((node, i) => [
          node.id,
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            return { i, words: `output of ${node.id}` };
          },
        ]),
      );
      const handle = await orchestrator.startWorkflow(workflow, { functions });
      expect((await handle.result).status).toBe('completed');
      const { sessionId } = handle;
      const lastSeq = await orchestrator.log.lastSeq(sessionId);
      const versions = await versionsToTheEnd(orchestrator, sessionId);
      const events: AnyEvent[] = [];
      for await (const event of orchestrator.log.readAll(sessionId)) events.push(event);

      expect(versions.at(-1)?.seq).toBe(lastSeq);
      const during = versions.filter((v) => v.seq < lastSeq);
      // Versions are spaced by what they cost (at most a second apart), so how many land during
      // a run of about a second depends on the machine; one is enough to check, and usual.
      expect(during.length).toBeGreaterThanOrEqual(1);
      for (const record of versions) {
        const { state } = await orchestrator.sessions.versions.load(sessionId, record.version);
        expect(state).toEqual(
          replay(
            sessionId,
            events.filter((e) => e.seq <= record.seq),
          ),
        );
      }
      // Versions were incremental: each stored about what changed since the one before, the
      // buckets of the nodes in flight (nodes share chunks of NODES_PER_CHUNK: at most two
      // here, the chain's and the fan's) and the pages above them, far from one whole snapshot
      // per version.
      const whole = writeSnapshot(replay(sessionId, events), new StateChunker(), () => false);
      const wholeBytes = [...whole.newBlobs.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
      const largest = Math.max(...[...whole.newBlobs.values()].map((bytes) => bytes.byteLength));
      const stored = versions.reduce((sum, v) => sum + v.newBytes, 0);
      expect(stored).toBeLessThan(wholeBytes + versions.length * 2 * largest);
    } finally {
      await orchestrator.close();
    }
  });

  it('puts off the whole cut of a large run of instant nodes, and still versions a small slow run at every node', async () => {
    const orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: path.join(tmp.dir, 'spacing'), logLevel: 'silent' }, {}),
      scenario: FALLBACK_SCENARIO,
    });
    try {
      const run = async (n: number, work: () => unknown) => {
        const { workflow, ids } = chainWorkflow('spacing', n);
        const functions = Object.fromEntries(ids.map((id) => [id, work]));
        const handle = await orchestrator.startWorkflow(workflow, { functions });
        expect((await handle.result).status).toBe('completed');
        const versions = await versionsToTheEnd(orchestrator, handle.sessionId);
        const completedAt: number[] = [];
        for await (const event of orchestrator.log.readAll(handle.sessionId)) {
          if (event.type === 'node.completed') completedAt.push(event.seq);
        }
        return { versions, completedAt };
      };
      // Three nodes of a second each, as agents' nodes are: every cut is small beside that, so
      // each completed node has its version. A cut is charged its wall time, which on a loaded
      // machine can be tens of ms for the first one (cold code, the definition): paid back within
      // a second, not within the 50 ms nodes this test first had (in a full suite a version then
      // covered two nodes).
      // Run first: the budget is the orchestrator's, shared by its runs, and the large run's
      // cuts may leave it owing for a while.
      const small = await run(3, () => new Promise((resolve) => setTimeout(() => resolve(1), 1000)));
      for (const seq of small.completedAt)
        expect(small.versions.some((v) => v.seq >= seq && v.seq < seq + 3)).toBe(true);

      // 3,000 instant nodes: a whole cut costs several ms, which the run has not yet paid for
      // when its first node completes; without the budget the first version was taken right
      // there, its whole cut on the run's critical path.
      const large = await run(3000, () => 1);
      expect(large.versions[0]?.seq).toBeGreaterThan((large.completedAt[0] as number) + 50);
    } finally {
      await orchestrator.close();
    }
  });

  it('stores the last version when the orchestrator closes mid-run while a version waits on the budget', async () => {
    const dataDir = path.join(tmp.dir, 'close-mid-run');
    const open = () =>
      Orchestrator.open({ config: loadConfig({ dataDir, logLevel: 'silent' }, {}), scenario: FALLBACK_SCENARIO });
    const orchestrator = await open();
    const { workflow, ids } = chainWorkflow('closed', 3000);
    // Each node yields to the loop, so the run is still going when close() comes, and the
    // version due after its first node is still put off (a whole cut of 3,000 nodes).
    const functions = Object.fromEntries(ids.map((id) => [id, () => new Promise((r) => setImmediate(r))]));
    const handle = await orchestrator.startWorkflow(workflow, { functions });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await orchestrator.close();
    const status = (await handle.result).status;
    expect(status).not.toBe('completed');

    const again = await open();
    try {
      const events: AnyEvent[] = [];
      for await (const event of again.log.readAll(handle.sessionId)) events.push(event);
      const versions = await again.sessions.versions.list(handle.sessionId);
      // close() waited for the last version: it is of the log's end, verified, equal to the replay.
      expect(versions.at(-1)?.seq).toBe(events.at(-1)?.seq);
      const last = versions.at(-1);
      if (!last) throw new Error('no version');
      const { state } = await again.sessions.versions.load(handle.sessionId, last.version);
      expect(state).toEqual(replay(handle.sessionId, events));
    } finally {
      await again.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../src/agents/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// The take of a spare when things go wrong, on real Claude Code processes:
// - a parked spare killed from outside (the OOM killer, an operator's kill) at the worst
//   moment, right before an agent takes it, before the pool has heard of its death: the agent
//   must still run, once, on a process of its own; nothing is asked of the model twice;
// - an agent that needs a process while the spare started for it is still starting: it waits
//   for that spare rather than starting a second Claude Code beside it (on 2 cores both would
//   start slower, and one would be wasted); stopped while it waits, it starts nothing and asks
//   the model nothing, and the spare is kept for the next agent.

const scenario = `
name: warm-take
scripts:
  - name: plain
    turns:
      - Plain answer.
`;

let kit: AgentKit;

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
});
afterAll(async () => {
  await kit?.cleanup();
});

/**
 * One case: a runtime of the graph-aware warm start with room for one spare and no refills,
 * and an agent type, a workspace and a session of the case's own name.
 */
async function oneSpareCase(name: string) {
  return {
    runtime: kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 1, minFreeMemoryBytes: 0 } }),
    spec: testSpec({ name }),
    cwd: await kit.workspace(name),
    sessionId: kit.session(),
  };
}

/** Samples the runtime's live processes every 5 ms until `stop()`, which returns every pid seen. */
function watchProcesses(runtime: AgentRuntime): { stop(): Set<number> } {
  const seen = new Set<number>();
  const timer = setInterval(() => {
    for (const pid of runtime.processes.pids()) seen.add(pid);
  }, 5);
  return {
    stop: () => {
      clearInterval(timer);
      return seen;
    },
  };
}

describe('a spare killed right before its take', () => {
  const kinds = [
    { kind: 'start-up spare of the folder', shared: true },
    { kind: 'claim spare', shared: false },
  ];
  it.each(kinds)(
    '$kind: the agent starts cold, runs once and leaves nothing behind',
    {
      timeout: 60_000,
    },
    async ({ shared }) => {
      // No refill: the only process of the pool is the spare killed below.
      const { runtime, spec, cwd, sessionId } = await oneSpareCase(shared ? 'dead-startup' : 'dead-claim');
      expect(runtime.warmStart('owner', [{ sessionId, spec, ...(shared && { cwd }) }])).toBe(1);
      expect(await waitFor(() => runtime.warmSpares === 1, 30_000)).toBe(true);
      const [pid] = runtime.processes.pids();
      expect(runtime.processes.size).toBe(1);

      const requestsBefore = kit.server.requests.length;
      // Killed, and taken in the same turn of the event loop: the pool cannot have seen it go.
      process.kill(pid as number, 'SIGKILL');
      const result = await runtime.spawn({ sessionId, spec, prompt: 'Anything', cwd, sharedCwd: shared }).result;

      expect(result.ok && result.text).toBe('Plain answer.');
      expect(kit.server.requests.length - requestsBefore).toBe(1);
      const kinds = dataOf(await kit.events(sessionId), 'agent.progress').map((d) => d.kind);
      // A start-up spare is bound before its process is asked anything: its query fails unheard
      // and the agent says so. A claim spare refuses the claim: a plain cold start.
      expect(kinds.filter((k) => k === 'warm_start' || k === 'spare_lost' || k === 'init')).toEqual(
        shared ? ['warm_start', 'spare_lost', 'init'] : ['init'],
      );
      await runtime.releaseWarm('owner');
      expect(await waitFor(() => runtime.processes.size === 0, 10_000)).toBe(true);
      expect(kit.ownProcesses()).toEqual([]);
      await runtime.shutdown();
    },
  );

  it('stopped right as it takes the dead spare: ends interrupted, starts nothing, asks nothing', {
    timeout: 60_000,
  }, async () => {
    const { runtime, spec, cwd, sessionId } = await oneSpareCase('dead-stopped');
    runtime.warmStart('owner', [{ sessionId, spec, cwd }]);
    expect(await waitFor(() => runtime.warmSpares === 1, 30_000)).toBe(true);
    const [pid] = runtime.processes.pids();
    const requestsBefore = kit.server.requests.length;
    process.kill(pid as number, 'SIGKILL');
    const watch = watchProcesses(runtime);
    const agent = runtime.spawn({
      sessionId,
      spec,
      prompt: 'Anything',
      cwd,
      sharedCwd: true,
      // The stop comes as the agent takes the spare, before its query has failed.
      onEvent: (event) => {
        if (event.type === 'agent.progress' && (event.data as { kind: string }).kind === 'warm_start') {
          agent.interrupt('stopped at the take');
        }
      },
    });
    const result = await agent.result;
    const seen = watch.stop();

    expect(!result.ok && result.error.code).toBe('AGENT_INTERRUPTED');
    expect(kit.server.requests.length).toBe(requestsBefore);
    const kinds = dataOf(await kit.events(sessionId), 'agent.progress').map((d) => d.kind);
    expect(kinds).toContain('warm_start');
    expect(kinds).not.toContain('spare_lost');
    // No cold start was made in its place: the only process ever seen is the dead spare, if any.
    expect([...seen].filter((live) => live !== pid)).toEqual([]);
    await runtime.releaseWarm('owner');
    expect(await waitFor(() => runtime.processes.size === 0, 10_000)).toBe(true);
    await runtime.shutdown();
  });
});

describe('an agent whose spare is still starting', () => {
  it.each([
    { kind: 'claim spare', shared: false },
    { kind: 'start-up spare of the folder', shared: true },
  ])('$kind: waits for it, runs on it, and no second process is started', { timeout: 60_000 }, async ({ shared }) => {
    const { runtime, spec, cwd, sessionId } = await oneSpareCase(shared ? 'waits-startup' : 'waits-claim');
    expect(runtime.warmStart('owner', [{ sessionId, spec, ...(shared && { cwd }) }])).toBe(1);
    expect(runtime.warmSpares).toBe(0);
    // Every process alive while the agent runs, sampled: the spare, and nothing beside it.
    const watch = watchProcesses(runtime);
    const result = await runtime.spawn({ sessionId, spec, prompt: 'Anything', cwd, sharedCwd: shared }).result;
    const seen = watch.stop();

    expect(result.ok && result.text).toBe('Plain answer.');
    expect(dataOf(await kit.events(sessionId), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    expect(runtime.warmStats).toMatchObject({ started: 1, taken: 1 });
    expect(seen.size).toBe(1);
    await runtime.shutdown();
  });

  it('stopped while it waits, starts nothing and asks nothing; the spare is parked for the next', {
    timeout: 60_000,
  }, async () => {
    const { runtime, spec, cwd, sessionId } = await oneSpareCase('waits-stopped');
    expect(runtime.warmStart('owner', [{ sessionId, spec }])).toBe(1);
    const requestsBefore = kit.server.requests.length;
    // Its policy is recorded right before it asks the pool for a spare: stopped a moment
    // later, it is waiting for the spare (which takes far longer than that to start).
    let parkedAtStop: number | undefined;
    const watch = watchProcesses(runtime);
    const agent = runtime.spawn({
      sessionId,
      spec,
      prompt: 'Anything',
      cwd,
      onEvent: (event) => {
        if (event.type !== 'security.policy') return;
        setTimeout(() => {
          parkedAtStop = runtime.warmSpares;
          agent.interrupt('stopped while it waits');
        }, 100);
      },
    });
    const result = await agent.result;

    const seen = watch.stop();
    expect(parkedAtStop).toBe(0);
    // No process of its own was started: only the spare ever lived.
    expect(seen.size).toBe(1);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('AGENT_INTERRUPTED');
    expect(kit.server.requests.length).toBe(requestsBefore);
    expect(await waitFor(() => runtime.warmSpares === 1, 30_000)).toBe(true);
    expect(runtime.processes.size).toBe(1);
    expect(runtime.warmStats).toMatchObject({ started: 1, taken: 0 });
    await runtime.shutdown();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentKit, dataOf, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// An agent that needs a process while the spare started for it is still starting waits for
// that spare rather than starting a second Claude Code beside it (on 2 cores both would start
// slower, and one would be wasted); stopped while it waits, it starts nothing and asks the
// model nothing, and the spare is kept for the next agent.

const scenario = `
name: warm-start-wait
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

describe('an agent whose spare is still starting', () => {
  it.each([
    { kind: 'claim spare', shared: false },
    { kind: 'start-up spare of the folder', shared: true },
  ])('$kind: waits for it, runs on it, and no second process is started', { timeout: 60_000 }, async ({ shared }) => {
    const runtime = kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 1, minFreeMemoryBytes: 0 } });
    const spec = testSpec({ name: shared ? 'waits-startup' : 'waits-claim' });
    const cwd = await kit.workspace(shared ? 'waits-startup' : 'waits-claim');
    const sessionId = kit.session();
    expect(runtime.warmStart('owner', [{ sessionId, spec, ...(shared && { cwd }) }])).toBe(1);
    expect(runtime.warmSpares).toBe(0);
    // Every process alive while the agent runs, sampled: the spare, and nothing beside it.
    const seen = new Set<number>();
    const sampler = setInterval(() => {
      for (const pid of runtime.processes.pids()) seen.add(pid);
    }, 5);
    const result = await runtime.spawn({ sessionId, spec, prompt: 'Anything', cwd, sharedCwd: shared }).result;
    clearInterval(sampler);

    expect(result.ok && result.text).toBe('Plain answer.');
    expect(dataOf(await kit.events(sessionId), 'agent.progress').some((d) => d.kind === 'warm_start')).toBe(true);
    expect(runtime.warmStats).toMatchObject({ started: 1, taken: 1 });
    expect(seen.size).toBe(1);
    await runtime.shutdown();
  });

  it('stopped while it waits, starts nothing and asks nothing; the spare is parked for the next', {
    timeout: 60_000,
  }, async () => {
    const runtime = kit.runtime({ maxConcurrent: 1, warmStart: { maxSpares: 1, minFreeMemoryBytes: 0 } });
    const spec = testSpec({ name: 'waits-stopped' });
    const cwd = await kit.workspace('waits-stopped');
    const sessionId = kit.session();
    expect(runtime.warmStart('owner', [{ sessionId, spec }])).toBe(1);
    const requestsBefore = kit.server.requests.length;
    // Its policy is recorded right before it asks the pool for a spare: stopped a moment
    // later, it is waiting for the spare (which takes far longer than that to start).
    let parkedAtStop: number | undefined;
    const seen = new Set<number>();
    const sampler = setInterval(() => {
      for (const pid of runtime.processes.pids()) seen.add(pid);
    }, 5);
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

    clearInterval(sampler);
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

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHandle, AgentRuntime } from '../../src/agents/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import {
  type AgentKit,
  claudeProcesses,
  dataOf,
  processesMatching,
  startAgentKit,
  statesOf,
  testSpec,
  waitFor,
} from '../support/agent-kit.ts';

// Timeouts, interrupts, shutdown, concurrency and process reaping, on the real SDK. Slow
// turns are scripted with `delay_ms`; every wait polls for a state instead of sleeping.

// A unique sleep length lets the test find exactly its own `sleep` in /proc.
const SLEEP_MARK = `600.${process.pid % 1000}`;

const scenario = `
name: agent-lifecycle
scripts:
  - name: quick
    match: { user: '^Quick' }
    turns:
      - Quick answer.
  - name: slow
    match: { user: '^Slow' }
    turns:
      - content: [{ text: Too late. }]
        delay_ms: 30000
  - name: sleeper
    match: { user: '^Run the long command$' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: 'echo started; sleep ${SLEEP_MARK}; echo finished', description: Wait a while } }
      - Woke up.
`;

let kit: AgentKit;

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
});

afterEach(async () => {
  await kit?.stopRuntimes();
});

afterAll(async () => {
  await kit?.cleanup();
});

/** Spawns with an event collector, so a test can wait for a state without sleeping. */
function spawnWatched(runtime: AgentRuntime, prompt: string, spec = testSpec(), cwd = kit.workspace('any')) {
  const events: AnyEvent[] = [];
  const sessionId = kit.session();
  const start = cwd.then((dir) =>
    runtime.spawn({ sessionId, spec, prompt, cwd: dir, onEvent: (event) => events.push(event) }),
  );
  return { events, sessionId, start };
}

function reached(events: readonly AnyEvent[], state: string): boolean {
  return events.some((event) => event.type === 'agent.state_changed' && (event.data as { to: string }).to === state);
}

function sleepers() {
  return processesMatching(`sleep ${SLEEP_MARK}`);
}

describe('agent lifecycle', () => {
  it('times out a slow turn with AGENT_TIMEOUT, retries it per spec, and leaves no process', async () => {
    const runtime = kit.runtime();
    const { sessionId, start } = spawnWatched(
      runtime,
      'Slow timeout',
      testSpec({ timeoutMs: 1500, retry: { attempts: 2, initialDelayMs: 5, maxDelayMs: 10 } }),
    );
    const result = await (await start).result;

    expect(kit.ownProcesses()).toEqual([]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ code: 'AGENT_TIMEOUT', retryable: true });
    expect(result.attempts).toBe(2);
    const events = await kit.events(sessionId);
    expect(
      dataOf(events, 'agent.failed').map((d) => [d.attempt, d.willRetry, (d.error as { code: string }).code]),
    ).toEqual([
      [1, true, 'AGENT_TIMEOUT'],
      [2, false, 'AGENT_TIMEOUT'],
    ]);
    expect(dataOf(events, 'agent.retry')).toEqual([expect.objectContaining({ by: 'orchestrator', attempt: 2 })]);
    expect(statesOf(events, result.agentId).at(-1)).toBe('error');
  });

  it('interrupts a running agent: AGENT_INTERRUPTED, state interrupted, no retry, no process', async () => {
    const runtime = kit.runtime();
    const { events, sessionId, start } = spawnWatched(runtime, 'Slow interrupt', testSpec({ retry: { attempts: 3 } }));
    const handle = await start;
    expect(await waitFor(() => reached(events, 'thinking'), 20_000)).toBe(true);
    expect(runtime.processes.size).toBe(1);
    handle.interrupt('changed my mind');
    const result = await handle.result;

    expect(kit.ownProcesses()).toEqual([]);
    expect(runtime.processes.size).toBe(0);
    expect(result).toMatchObject({
      ok: false,
      attempts: 1,
      error: { code: 'AGENT_INTERRUPTED', message: 'changed my mind' },
    });
    const logged = await kit.events(sessionId);
    expect(statesOf(logged, handle.agentId).at(-1)).toBe('interrupted');
    expect(dataOf(logged, 'agent.failed')).toEqual([expect.objectContaining({ willRetry: false, attempt: 1 })]);
    expect(dataOf(logged, 'agent.retry')).toEqual([]);
  });

  it('interrupts an agent still waiting for a slot at once, without starting it', async () => {
    const runtime = kit.runtime({ maxConcurrent: 1 });
    const quickBefore = kit.server.requests.filter((r) => r.script === 'quick').length;
    // One folder promise for both, so they are spawned in this order (each spawn waits for its
    // folder; two promises of one folder may settle either way round on a loaded machine).
    const cwd = kit.workspace('any');
    const busy = spawnWatched(runtime, 'Slow blocker', testSpec(), cwd);
    const queued = spawnWatched(runtime, 'Quick but queued', testSpec(), cwd);
    const [blocker, waiting] = await Promise.all([busy.start, queued.start]);
    expect(runtime.queued + runtime.active).toBe(2);
    waiting.interrupt();
    const result = await waiting.result;

    expect(result).toMatchObject({ ok: false, error: { code: 'AGENT_INTERRUPTED' } });
    expect(statesOf(await kit.events(queued.sessionId), waiting.agentId)).toEqual(['waiting', 'interrupted']);
    // Its prompt never reached the model.
    expect(kit.server.requests.filter((r) => r.script === 'quick').length).toBe(quickBefore);
    blocker.interrupt();
    expect((await blocker.result).ok).toBe(false);
    expect(kit.ownProcesses()).toEqual([]);
  });

  it("kills a Bash tool's process group when its agent is interrupted", async () => {
    const runtime = kit.runtime();
    const { start } = spawnWatched(runtime, 'Run the long command', testSpec({ tools: ['Bash'] }));
    const handle = await start;
    expect(await waitFor(() => sleepers().length > 0, 20_000)).toBe(true);
    // Claude Code runs the command in a process group of its own, not in its own group.
    const [sleeper] = sleepers();
    expect(sleeper?.pgid).not.toBe(runtime.processes.pids()[0]);
    handle.interrupt();
    const result = await handle.result;

    expect(result).toMatchObject({ ok: false, error: { code: 'AGENT_INTERRUPTED' } });
    expect(sleepers()).toEqual([]);
    expect(kit.ownProcesses()).toEqual([]);
  });

  it('reaps the tools of a Claude Code process that died abruptly (SIGKILL)', async () => {
    const runtime = kit.runtime();
    const { start } = spawnWatched(runtime, 'Run the long command', testSpec({ tools: ['Bash'] }));
    const handle = await start;
    expect(await waitFor(() => sleepers().length > 0, 20_000)).toBe(true);
    const [pid] = runtime.processes.pids();
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    const result = await handle.result;

    expect(result).toMatchObject({ ok: false, error: { code: 'AGENT_PROCESS_DIED', retryable: true } });
    // The sleep ran in its own process group; only the environment tag leads to it.
    expect(sleepers()).toEqual([]);
    expect(kit.ownProcesses()).toEqual([]);
  });

  it('shuts down with agents running and queued: all settle with AGENT_SHUTDOWN, no process left', async () => {
    const runtime = kit.runtime({ maxConcurrent: 2 });
    // One folder for the three, so they are spawned in this order (each spawn waits for its
    // folder): the quick one is the one left queued behind the two that hold the slots.
    const cwd = kit.workspace('shutdown');
    const watched = [
      spawnWatched(runtime, 'Slow one', testSpec(), cwd),
      spawnWatched(runtime, 'Run the long command', testSpec({ tools: ['Bash'] }), cwd),
      spawnWatched(runtime, 'Quick queued', testSpec(), cwd),
    ];
    const handles: AgentHandle[] = await Promise.all(watched.map((w) => w.start));
    expect(await waitFor(() => reached(watched[0]?.events ?? [], 'thinking') && sleepers().length > 0, 20_000)).toBe(
      true,
    );
    expect(runtime.queued).toBe(1);
    await runtime.shutdown();

    // shutdown() waits for every agent: the results are already settled and recorded.
    const outcomes = await Promise.race([
      Promise.all(handles.map((h) => h.result)),
      new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending'))),
    ]);
    expect(outcomes).not.toBe('pending');
    if (outcomes === 'pending') return;
    expect(outcomes.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'AGENT_SHUTDOWN',
      'AGENT_SHUTDOWN',
      'AGENT_SHUTDOWN',
    ]);
    expect(kit.ownProcesses()).toEqual([]);
    expect(sleepers()).toEqual([]);
    const queuedEvents = await kit.events(watched[2]?.sessionId as string);
    expect(statesOf(queuedEvents, handles[2]?.agentId as string)).toEqual(['waiting', 'interrupted']);
    expect(() => runtime.spawn({ sessionId: kit.session(), spec: testSpec(), prompt: 'Quick', cwd: '/tmp' })).toThrow(
      expect.objectContaining({ code: 'AGENT_SHUTDOWN' }) as unknown as Error,
    );
    await runtime.shutdown();
  });

  it('keeps at most maxConcurrent processes alive and completes every agent', async () => {
    const runtime = kit.runtime({ maxConcurrent: 1 });
    let most = 0;
    let mostOwn = 0;
    const sample = () => {
      most = Math.max(most, runtime.processes.size);
      mostOwn = Math.max(
        mostOwn,
        kit.ownProcesses().filter((p) => claudeProcesses().some((c) => c.pid === p.pid)).length,
      );
    };
    const cwd = await kit.workspace('cap');
    const handles = ['Quick 1', 'Quick 2', 'Quick 3'].map((prompt) =>
      runtime.spawn({ sessionId: kit.session(), spec: testSpec(), prompt, cwd, onEvent: sample }),
    );
    expect(runtime.active).toBe(1);
    expect(runtime.queued).toBe(2);
    const results = await Promise.all(handles.map((h) => h.result));

    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(most).toBe(1);
    expect(mostOwn).toBe(1);
    // Clean exits: what an agent left is swept off its critical path, within the sweep's bound.
    await waitFor(() => kit.ownProcesses().length === 0, 3000);
    expect(kit.ownProcesses()).toEqual([]);
  });
});

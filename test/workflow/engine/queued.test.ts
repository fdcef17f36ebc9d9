import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotPool } from '../../../src/agents/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { NodeExecutor, NodeRunContext } from '../../../src/workflow/index.ts';
import {
  deferred,
  type EngineKit,
  indexOfEvent,
  startEngineKit,
  testWorkflow,
  trace,
  until,
  untilAborted,
} from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

/** Agent-like nodes that need one of the pool's slots; `body` is what one attempt does. */
function slotted(pool: SlotPool, body: (context: NodeRunContext) => Promise<unknown>) {
  const calls: string[] = [];
  /** When each node's last attempt returned (epoch ms, floored like event times). */
  const ended: Record<string, number> = {};
  let holding = 0;
  let maxHolding = 0;
  const executor: NodeExecutor = {
    external: true,
    slots: pool,
    async run(context) {
      calls.push(context.node.id);
      maxHolding = Math.max(maxHolding, ++holding);
      try {
        return { ok: true, output: await body(context) };
      } finally {
        holding--;
        ended[context.node.id] = Date.now();
      }
    },
  };
  return { executor, calls, ended, maxHolding: () => maxHolding };
}

const pair = (timeout?: number) =>
  testWorkflow({
    nodes: [
      { id: 'a', ...(timeout && { timeout }) },
      { id: 'b', ...(timeout && { timeout }) },
    ],
  });

const of = (events: AnyEvent[], nodeId: string, types?: string[]) =>
  trace(
    events.filter((e) => (e.data as { nodeId?: string }).nodeId === nodeId),
    types,
  );

describe('queued for a process slot', () => {
  it('records node.queued, starts only once the slot is free, and its timeout excludes the wait', async () => {
    const pool = new SlotPool(1);
    // Each takes ~100 ms holding the slot; b waits ~100 ms more for it. A timeout counted from
    // the queueing would fire at 150 ms, one counted from node.started does not.
    const agents = slotted(pool, (context) =>
      Promise.race([new Promise((resolve) => setTimeout(resolve, 100, context.node.id)), untilAborted(context.signal)]),
    );
    const { run, sessionId } = await kit.start(pair(150), { executors: { agent: agents.executor } });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.b).toMatchObject({ status: 'completed', output: 'b', attempts: 1, interruptions: 0 });
    expect(agents.maxHolding()).toBe(1);

    const events = await kit.events(sessionId);
    expect(of(events, 'a')).toEqual(['node.started:a', 'node.completed:a']);
    expect(of(events, 'b')).toEqual(['node.queued:b', 'node.started:b', 'node.completed:b']);
    expect(events[indexOfEvent(events, 'node.queued', 'b')]?.data).toMatchObject({ attempt: 1 });
    expect(indexOfEvent(events, 'node.queued', 'b')).toBeLessThan(indexOfEvent(events, 'node.completed', 'a'));
    // b starts once a's attempt gave its slot back (a's executor returned), not before.
    expect(Date.parse(final.nodes.b?.startedAt ?? '')).toBeGreaterThanOrEqual(agents.ended.a ?? Infinity);
    expect(pool.active).toBe(0);
  });

  it('the queued node is a node waiting for a slot: its state says queued until it gets one', async () => {
    const pool = new SlotPool(1);
    const release = deferred<string>();
    const agents = slotted(pool, (context) => (context.node.id === 'a' ? release.promise : Promise.resolve('B')));
    const { run, wf } = await kit.start(pair(), { executors: { agent: agents.executor } });
    const done = run.run();
    await until(() => wf.nodes.b?.status === 'queued' && agents.calls.length === 1, 'a running, b queued');
    expect(wf.nodes.a?.status).toBe('running');
    expect(wf.nodes.b).toMatchObject({ attempts: 0 });
    expect(agents.calls).toEqual(['a']);
    release.resolve('A');
    expect((await done).status).toBe('completed');
    expect(agents.calls).toEqual(['a', 'b']);
  });

  it('a cancel while queued cancels the node at once: never started, the slot count back to 0', async () => {
    const pool = new SlotPool(1);
    // a ignores the stop for a while and keeps its slot: b must not wait for it to be cancelled.
    const release = deferred<string>();
    const agents = slotted(pool, () => release.promise);
    const { run, wf, sessionId } = await kit.start(pair(), { executors: { agent: agents.executor } });
    const done = run.run();
    await until(() => wf.nodes.b?.status === 'queued' && agents.calls.length === 1, 'a running, b queued');
    run.cancel('stop');
    await until(() => wf.nodes.b?.status === 'cancelled', 'b cancelled');
    expect(pool.active).toBe(1);
    expect(pool.queued).toBe(0);
    release.resolve('A');
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(final.nodes.b?.status).toBe('cancelled');
    const events = await kit.events(sessionId);
    expect(of(events, 'b')).toEqual(['node.queued:b', 'node.cancelled:b']);
    expect(agents.calls).toEqual(['a']);
    expect(pool.active).toBe(0);
    expect(pool.queued).toBe(0);
  });

  it('a pause with interruptRunning interrupts a queued node without counting it; after resume it runs', async () => {
    const pool = new SlotPool(1);
    let firstA = true;
    const agents = slotted(pool, (context) => {
      if (context.node.id === 'a' && firstA) {
        firstA = false;
        return untilAborted(context.signal);
      }
      return Promise.resolve(context.node.id.toUpperCase());
    });
    const { run, wf, sessionId } = await kit.start(pair(), { executors: { agent: agents.executor } });
    const done = run.run();
    await until(() => wf.nodes.b?.status === 'queued' && agents.calls.length === 1, 'a running, b queued');
    run.pause({ interruptRunning: true });
    await until(() => wf.nodes.a?.status === 'retry_wait' && wf.nodes.b?.status === 'retry_wait', 'both interrupted');
    expect(wf.nodes.b?.interruptions).toBe(0);
    // The running one did lose an attempt.
    expect(wf.nodes.a?.interruptions).toBe(1);
    expect(pool.active).toBe(0);
    run.resume();
    const final = await done;
    expect(final.status).toBe('completed');
    expect(final.nodes.b).toMatchObject({ status: 'completed', output: 'B', attempts: 1, interruptions: 0 });
    const events = await kit.events(sessionId);
    const b = of(events, 'b', ['node.queued', 'node.started', 'node.interrupted']);
    // After resume it may queue again behind a: what matters is that it started once, after.
    expect(b.slice(0, 2)).toEqual(['node.queued:b', 'node.interrupted:b']);
    expect(b.filter((t) => t === 'node.started:b')).toHaveLength(1);
    expect(events[indexOfEvent(events, 'node.started', 'b')]?.data).toMatchObject({ attempt: 1 });
  });

  it.each([
    ['cancel', 'cancelled'],
    ['pause', 'retry_wait'],
  ] as const)(
    'a %s arriving just as the slot is granted still stops the node before node.started',
    async (stop, status) => {
      const pool = new SlotPool(1);
      const agents = slotted(pool, (context) => Promise.resolve(context.node.id));
      let stopped = false;
      const { run, wf, sessionId } = await kit.start(pair(), {
        executors: { agent: agents.executor },
        probe: (point, nodeId) => {
          if (point !== 'slot' || nodeId !== 'b' || stopped) return;
          stopped = true;
          if (stop === 'cancel') run.cancel();
          else run.pause({ interruptRunning: true });
        },
      });
      const done = run.run();
      await until(() => stopped && wf.nodes.b?.status === status, `b ${status}`);
      expect(pool.active).toBe(0);
      expect(wf.nodes.b?.interruptions).toBe(0);
      if (stop === 'pause') run.resume();
      const final = await done;
      expect(final.status).toBe(stop === 'cancel' ? 'cancelled' : 'completed');
      const started = trace(await kit.events(sessionId), ['node.started', 'node.interrupted', 'node.cancelled']);
      expect(started.filter((t) => t.endsWith(':b'))).toEqual(
        stop === 'cancel' ? ['node.cancelled:b'] : ['node.interrupted:b', 'node.started:b'],
      );
    },
  );

  it('a plain pause (running nodes finish) starts no queued node until resume', async () => {
    const pool = new SlotPool(1);
    const release = deferred<string>();
    const agents = slotted(pool, (context) => (context.node.id === 'a' ? release.promise : Promise.resolve('B')));
    const { run, wf, sessionId } = await kit.start(pair(), { executors: { agent: agents.executor } });
    const done = run.run();
    await until(() => wf.nodes.b?.status === 'queued' && agents.calls.length === 1, 'a running, b queued');
    run.pause();
    release.resolve('A');
    await until(() => wf.nodes.a?.status === 'completed', 'a completed');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(agents.calls).toEqual(['a']);
    // Not started, so not counted: it runs again on resume.
    expect(wf.nodes.b).toMatchObject({ status: 'retry_wait', attempts: 0, interruptions: 0 });
    expect(pool.active).toBe(0);
    run.resume();
    expect((await done).status).toBe('completed');
    const events = await kit.events(sessionId);
    expect(indexOfEvent(events, 'node.started', 'b')).toBeGreaterThan(indexOfEvent(events, 'workflow.resumed'));
  });

  it('after a crash while queued, the node is interrupted without counting and runs', async () => {
    const pool = new SlotPool(1);
    const first = kit.process();
    const agents = slotted(pool, (context) => untilAborted(context.signal));
    const { run, sessionId } = await kit.start(pair(), { executors: { agent: agents.executor }, log: first.log });
    void run.run();
    await kit.waitForEvents(sessionId, (events) => indexOfEvent(events, 'node.queued', 'b') >= 0);
    first.kill();
    await first.dead;

    const next = slotted(new SlotPool(1), (context) => Promise.resolve(context.node.id));
    const resumed = await kit.resume(sessionId, { executors: { agent: next.executor } });
    expect(resumed.wf.nodes.b?.status).toBe('queued');
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.b).toMatchObject({ status: 'completed', attempts: 1, interruptions: 0 });
    expect(final.nodes.a).toMatchObject({ status: 'completed', attempts: 2, interruptions: 1 });
    const interrupted = (await kit.events(sessionId)).filter((e) => e.type === 'node.interrupted');
    expect(interrupted.map((e) => [e.data.nodeId, e.data.reason])).toEqual([
      ['a', 'the process running it ended'],
      ['b', 'the process queueing it ended'],
    ]);
  });
});

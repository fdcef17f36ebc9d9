import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotPool } from '../../../src/agents/index.ts';
import type { NodeExecutor, PlanFunctions } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow, until } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

/** Functions that each wait until `width` of them run at once; they fail if that never happens. */
function barrier(ids: readonly string[], width: number) {
  let arrived = 0;
  let peak = 0;
  let running = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const functions: PlanFunctions = Object.fromEntries(
    ids.map((id) => [
      id,
      async () => {
        peak = Math.max(peak, ++running);
        if (++arrived === width) open();
        try {
          await Promise.race([
            opened,
            new Promise((_, reject) => setTimeout(reject, 3000, new Error(`only ${running} ran at once`))),
          ]);
          return id;
        } finally {
          running--;
        }
      },
    ]),
  );
  return { functions, peak: () => peak };
}

describe('separate caps for agent nodes and the other nodes', () => {
  it('runs function nodes beyond the agent cap while agent nodes stay within it', async () => {
    const fnIds = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const agentIds = Array.from({ length: 5 }, (_, i) => `a${i}`);
    const fns = barrier(fnIds, fnIds.length);
    // More process slots than the agent cap: what holds agents to two is the run's admission.
    const pool = new SlotPool(10);
    let holding = 0;
    let maxHolding = 0;
    const agents: NodeExecutor = {
      external: true,
      slots: pool,
      async run(context) {
        maxHolding = Math.max(maxHolding, ++holding);
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return { ok: true, output: context.node.id };
        } finally {
          holding--;
        }
      },
    };
    // No workflow `concurrency`: only the two caps apply.
    const workflow = testWorkflow({ nodes: [...agentIds, ...fnIds].map((id) => ({ id })) });
    const { run, sessionId } = await kit.start(workflow, {
      functions: fns.functions,
      executors: { agent: agents },
      classLimits: { agent: 2, other: 64 },
    });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(fns.peak()).toBe(fnIds.length);
    expect(maxHolding).toBe(2);
    // The three agents beyond the cap were recorded queued, held back by it (not for want of
    // a process: the pool had room), each once and before its start.
    const events = await kit.events(sessionId);
    const queued = events.filter((e) => e.type === 'node.queued');
    expect(queued.map((e) => e.data)).toEqual(
      ['a2', 'a3', 'a4'].map((nodeId) => expect.objectContaining({ nodeId, attempt: 1, held: true })),
    );
    for (const event of queued) {
      const nodeId = (event.data as { nodeId: string }).nodeId;
      const started = events.find((e) => e.type === 'node.started' && e.data.nodeId === nodeId);
      expect(started?.seq, nodeId).toBeGreaterThan(event.seq);
    }
    expect(events.filter((e) => e.type === 'node.completed')).toHaveLength(agentIds.length + fnIds.length);
  });

  it('a node held back by the agent cap is not timed meanwhile: its timeout and duration start when it runs', async () => {
    // The case, scaled down: eight coders, two at a time, each needing ~60 ms under a
    // 150 ms timeout. Counted from readiness, the last ones would wait 180 ms and time out.
    const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);
    const agents: NodeExecutor = {
      external: true,
      slots: new SlotPool(10),
      async run(context) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        return { ok: true, output: context.node.id };
      },
    };
    const workflow = testWorkflow({ nodes: ids.map((id) => ({ id, timeout: 150 })) });
    const { run, sessionId, wf } = await kit.start(workflow, {
      executors: { agent: agents },
      classLimits: { agent: 2, other: 64 },
    });
    const startedAt = Date.now();
    const done = run.run();
    // Shown as they are: two running, six queued (not started, not pending).
    await until(() => Object.values(wf.nodes).filter((n) => n.status === 'queued').length === 6, 'six queued');
    expect(Object.values(wf.nodes).filter((n) => n.status === 'running')).toHaveLength(2);
    const final = await done;
    expect(final.status).toBe('completed');
    for (const id of ids) expect(final.nodes[id]).toMatchObject({ status: 'completed', attempts: 1 });
    // The wait was real: the run took about four rounds, far beyond one node's timeout.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
    const events = await kit.events(sessionId);
    expect(events.filter((e) => e.type === 'node.failed')).toEqual([]);
    // Each node started (node.started) only once two ran no more: never eight at once.
    let running = 0;
    let peak = 0;
    for (const event of events) {
      if (event.type === 'node.started') peak = Math.max(peak, ++running);
      if (event.type === 'node.completed') running--;
    }
    expect(peak).toBe(2);
    // Durations run from node.started: each about one node's work, not the wait before it.
    for (const id of ids) {
      const node = final.nodes[id];
      const duration = Date.parse(node?.endedAt ?? '') - Date.parse(node?.startedAt ?? '');
      expect(duration, id).toBeLessThan(150);
    }
  });

  it('a node held back by the agent cap is not started: it can be skipped, or given a new dependency', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ran: string[] = [];
    const agents: NodeExecutor = {
      external: true,
      slots: new SlotPool(10),
      async run(context) {
        ran.push(context.node.id);
        if (context.node.id === 'first') await gate;
        return { ok: true, output: context.node.id };
      },
    };
    const workflow = testWorkflow({ nodes: [{ id: 'first' }, { id: 'skipped' }, { id: 'later' }] });
    const { run, wf, sessionId } = await kit.start(workflow, {
      executors: { agent: agents },
      classLimits: { agent: 1, other: 64 },
    });
    const done = run.run();
    await until(() => wf.nodes.skipped?.status === 'queued' && wf.nodes.later?.status === 'queued', 'two held');
    await run.skipNodes(['skipped'], 'not needed', 'user');
    await run.addNodes([{ id: 'before', agent: 'fn', task: 'run before', requiredBy: ['later'] }], 'user');
    release();
    const final = await done;
    expect(final.status).toBe('completed');
    expect(final.nodes.skipped?.status).toBe('skipped');
    expect(final.nodes.later?.status).toBe('completed');
    // The skipped one never ran; the added one ran before the node it was put in front of.
    expect(ran).toEqual(['first', 'before', 'later']);
    const events = await kit.events(sessionId);
    expect(events.filter((e) => e.type === 'node.started' && e.data.nodeId === 'skipped')).toEqual([]);
  });

  it('after a suspend while held back by the agent cap, a new owner runs the node; no interruption is counted', async () => {
    const hang: NodeExecutor = {
      external: true,
      slots: new SlotPool(10),
      run: (context) =>
        new Promise((resolve) =>
          context.signal.addEventListener('abort', () => resolve({ ok: false, error: new Error('stopped') as never })),
        ),
    };
    const workflow = testWorkflow({ nodes: [{ id: 'first' }, { id: 'second' }] });
    const first = await kit.start(workflow, { executors: { agent: hang }, classLimits: { agent: 1, other: 64 } });
    const done = first.run.run();
    await until(() => first.wf.nodes.second?.status === 'queued', 'second held');
    expect(first.wf.nodes.second).toMatchObject({ held: true, attempts: 0 });
    await first.run.suspend();
    await done;

    const quick: NodeExecutor = {
      external: true,
      slots: new SlotPool(10),
      run: async (c) => ({ ok: true, output: c.node.id }),
    };
    const resumed = await kit.resume(first.sessionId, {
      executors: { agent: quick },
      classLimits: { agent: 1, other: 64 },
    });
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.second).toMatchObject({ status: 'completed', attempts: 1, interruptions: 0 });
    expect(final.nodes.second?.held).toBeUndefined();
  });

  it('holds the other nodes to their own cap', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `f${i}`);
    const fns = barrier(ids, 3);
    const { run } = await kit.start(testWorkflow({ nodes: ids.map((id) => ({ id })) }), {
      functions: fns.functions,
      classLimits: { agent: 2, other: 3 },
    });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(fns.peak()).toBe(3);
  });

  it('keeps a workflow that sets concurrency to it, over both classes', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `f${i}`);
    const fns = barrier(ids, 2);
    const workflow = testWorkflow({ concurrency: 2, nodes: ids.map((id) => ({ id })) });
    const { run } = await kit.start(workflow, { functions: fns.functions, classLimits: { agent: 4, other: 64 } });
    expect((await run.run()).status).toBe('completed');
    expect(fns.peak()).toBe(2);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotPool } from '../../../src/agents/index.ts';
import type { NodeExecutor, PlanFunctions } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow } from '../../support/engine-kit.ts';

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
    // Held back by admission, not queued for a process slot.
    const events = await kit.events(sessionId);
    expect(events.filter((e) => e.type === 'node.queued')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'node.completed')).toHaveLength(agentIds.length + fnIds.length);
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { NodeExecutor } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow, trace, until, untilAborted } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

// Completes first, second, third in that order, then fails: compensations run third, second, first.
const workflow = testWorkflow({
  rollback: true,
  nodes: [
    { id: 'first', compensation: 'undo first' },
    { id: 'second', dependsOn: ['first'], compensation: 'undo second' },
    { id: 'third', dependsOn: ['second'], compensation: 'undo third' },
    { id: 'breaks', dependsOn: ['third'] },
  ],
});
const functions = {
  first: () => 1,
  second: () => 2,
  third: () => 3,
  breaks: () => {
    throw new OrchestratorError('AGENT_FAILED', 'broken');
  },
};

/**
 * The agent executor that runs compensation tasks, faked: each call is recorded with its
 * signal; a node in `block` waits until its signal aborts (its first time only when `once`).
 */
function compensator(block: string[], once = false) {
  const runs: Array<{ nodeId: string; signal: AbortSignal }> = [];
  const blocking = new Set(block);
  const executor: NodeExecutor = {
    external: true,
    async run(context) {
      runs.push({ nodeId: context.node.id, signal: context.signal });
      if (blocking.has(context.node.id)) {
        if (once) blocking.delete(context.node.id);
        await untilAborted(context.signal);
      }
      return { ok: true, output: 'undone' };
    },
  };
  return { executor, runs, ids: () => runs.map((r) => r.nodeId) };
}

const compensationTrace = (events: AnyEvent[]) =>
  trace(events, ['node.compensating', 'node.compensated', 'workflow.rolling_back', 'workflow.completed']);
const count = (events: AnyEvent[], type: string, nodeId?: string) =>
  events.filter((e) => e.type === type && (nodeId === undefined || e.data.nodeId === nodeId)).length;

describe('a rollback under control', () => {
  it('cancel during a slow compensation aborts it, ends the run cancelled, runs no later compensation', async () => {
    const comp = compensator(['second']);
    const { run, sessionId } = await kit.start(workflow, { functions, executors: { agent: comp.executor } });
    const done = run.run();
    await until(() => comp.ids().includes('second'), 'compensating second');
    run.cancel('stop the undo');
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(comp.runs[1]?.signal.aborted).toBe(true);
    expect(comp.runs[1]?.signal.reason).toBe('cancel');
    expect(comp.ids()).toEqual(['third', 'second']);
    expect(final.nodes.second?.compensated).toBeUndefined();
    const events = await kit.events(sessionId);
    expect(compensationTrace(events)).toEqual([
      'workflow.rolling_back',
      'node.compensating:third',
      'node.compensated:third',
      'node.compensating:second',
      'workflow.completed',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ status: 'cancelled', rolledBack: false });
  });

  it('pause stops the rollback; resume carries on, running the cut-short compensation again', async () => {
    const comp = compensator(['second'], true);
    const { run, wf, sessionId } = await kit.start(workflow, { functions, executors: { agent: comp.executor } });
    const done = run.run();
    await until(() => comp.ids().includes('second'), 'compensating second');
    run.pause({ reason: 'wait' });
    await until(() => run.phase === 'running', 'the rollback stopped');
    expect(comp.runs[1]?.signal.reason).toBe('pause');
    expect(wf.nodes.second).toMatchObject({ compensating: true });
    expect(wf.nodes.second?.compensated).toBeUndefined();
    expect(comp.ids()).toEqual(['third', 'second']);
    expect(count(await kit.events(sessionId), 'workflow.completed')).toBe(0);

    run.resume('go on');
    const final = await done;
    expect(final.status).toBe('failed');
    expect(comp.ids()).toEqual(['third', 'second', 'second', 'first']);
    for (const id of ['first', 'second', 'third']) expect(final.nodes[id]?.compensated).toBe(true);
    const events = await kit.events(sessionId);
    expect(compensationTrace(events)).toEqual([
      'workflow.rolling_back',
      'node.compensating:third',
      'node.compensated:third',
      'node.compensating:second',
      'node.compensating:second',
      'node.compensated:second',
      'node.compensating:first',
      'node.compensated:first',
      'workflow.completed',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ status: 'failed', rolledBack: true });
  });

  it('cancel while a paused rollback waits ends the run cancelled without further compensations', async () => {
    const comp = compensator(['second'], true);
    const { run, sessionId } = await kit.start(workflow, { functions, executors: { agent: comp.executor } });
    const done = run.run();
    await until(() => comp.ids().includes('second'), 'compensating second');
    run.pause();
    await until(() => run.phase === 'running', 'the rollback stopped');
    run.cancel();
    expect((await done).status).toBe('cancelled');
    expect(comp.ids()).toEqual(['third', 'second']);
    const events = await kit.events(sessionId);
    expect(count(events, 'workflow.completed')).toBe(1);
    expect(events.at(-1)?.data).toMatchObject({ status: 'cancelled' });
  });

  it.each(['crash', 'suspend'] as const)(
    'after a %s mid-rollback, a resumed run carries on: each node compensated once, the cut-short one again',
    async (how) => {
      const process = kit.process({
        killAfter: (event) => how === 'crash' && event.type === 'node.compensating' && event.data.nodeId === 'second',
      });
      const before = compensator(['second']);
      const first = await kit.start(workflow, { functions, executors: { agent: before.executor }, log: process.log });
      const firstDone = first.run.run();
      await kit.waitForEvents(first.sessionId, (events) => count(events, 'node.compensating', 'second') > 0);
      if (how === 'crash') {
        await process.dead;
      } else {
        await first.run.suspend();
        expect((await firstDone).status).toBe('rolling_back');
        expect(before.runs[1]?.signal.reason).toBe('suspend');
      }
      expect(before.ids()).toEqual(['third', 'second']);

      const after = compensator([]);
      const resumed = await kit.resume(first.sessionId, { functions, executors: { agent: after.executor } });
      expect(resumed.wf.status).toBe('rolling_back');
      const final = await resumed.run.run();
      expect(final.status).toBe('failed');
      expect(after.ids()).toEqual(['second', 'first']);
      const events = await kit.events(first.sessionId);
      for (const id of ['first', 'second', 'third']) {
        expect(count(events, 'node.compensated', id)).toBe(1);
        expect(final.nodes[id]).toMatchObject({ compensated: true });
      }
      expect(count(events, 'node.compensating', 'second')).toBe(2);
      expect(count(events, 'workflow.rolling_back')).toBe(1);
      expect(count(events, 'workflow.completed')).toBe(1);
      expect(events.at(-1)?.data).toMatchObject({ status: 'failed', rolledBack: true });
      // No node ran again: only compensations.
      expect(count(events, 'node.started')).toBe(4);
    },
  );
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { PlanFunctions } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, statuses, testWorkflow, trace, until } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

// a -> (b, c) -> d
const diamond = testWorkflow({
  nodes: [
    { id: 'a' },
    { id: 'b', dependsOn: ['a'] },
    { id: 'c', dependsOn: ['a'] },
    { id: 'd', dependsOn: ['b', 'c'] },
  ],
});

/** Functions counting their invocations; `b` never returns while `blockB` is true. */
function counted(calls: Record<string, number>, blockB: { value: boolean }): PlanFunctions {
  const fn = (id: string, output: () => unknown) => () => {
    calls[id] = (calls[id] ?? 0) + 1;
    return output();
  };
  return {
    a: fn('a', () => 'A'),
    b: fn('b', () => (blockB.value ? new Promise(() => undefined) : 'B')),
    c: fn('c', () => 'C'),
    d: fn('d', () => 'D'),
  };
}

function expectContiguous(events: AnyEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
}

const completions = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'node.completed').map((e) => e.data.nodeId as string);

describe('crash recovery', () => {
  it('re-runs only the interrupted node; nothing committed is lost or duplicated', async () => {
    const calls: Record<string, number> = {};
    const blockB = { value: true };
    const first = kit.process();
    const { run, wf, sessionId } = await kit.start(diamond, { functions: counted(calls, blockB), log: first.log });
    void run.run();
    await until(() => wf.nodes.c?.status === 'completed' && wf.nodes.b?.status === 'running', 'b running, c done');
    const committed = await kit.waitForEvents(sessionId, (events) => completions(events).includes('c'));
    first.kill();

    blockB.value = false;
    const resumed = await kit.resume(sessionId, { functions: counted(calls, blockB) });
    expect(statuses(resumed.wf)).toEqual({ a: 'completed', b: 'running', c: 'completed', d: 'pending' });
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(calls).toEqual({ a: 1, b: 2, c: 1, d: 1 });
    expect(final.nodes.b).toMatchObject({ status: 'completed', attempts: 2, interruptions: 1 });

    const events = await kit.events(sessionId);
    expect(events.slice(0, committed.length)).toEqual(committed);
    expectContiguous(events);
    expect(completions(events).sort()).toEqual(['a', 'b', 'c', 'd']);
    const interrupted = events.filter((e) => e.type === 'node.interrupted');
    expect(interrupted.map((e) => e.data)).toEqual([
      expect.objectContaining({ nodeId: 'b', attempt: 1, reason: 'the process running it ended' }),
    ]);
    expect(trace(events.slice(committed.length))).toEqual([
      'node.interrupted:b',
      'node.started:b',
      'node.completed:b',
      'node.started:d',
      'node.completed:d',
      'workflow.completed',
    ]);
  });

  it('a run resumed from a finished log does nothing', async () => {
    const calls: Record<string, number> = {};
    const { run, sessionId } = await kit.start(diamond, { functions: counted(calls, { value: false }) });
    await run.run();
    const before = await kit.events(sessionId);
    const state = await kit.replay(sessionId);
    expect(Object.values(state.workflows)[0]?.status).toBe('completed');
    await expect(kit.resume(sessionId)).rejects.toThrow('no unfinished workflow');
    expect(await kit.events(sessionId)).toHaveLength(before.length);
    expect(calls).toEqual({ a: 1, b: 1, c: 1, d: 1 });
  });

  it('a node interrupted by more crashes than allowed fails with NODE_INTERRUPTED', async () => {
    const calls: Record<string, number> = {};
    const blockB = { value: true };
    const first = kit.process();
    let current = await kit.start(diamond, { functions: counted(calls, blockB), log: first.log });
    void current.run.run();
    let process = first;
    for (let crash = 1; ; crash++) {
      await until(() => current.wf.nodes.b?.status === 'running' || current.wf.status === 'failed', 'b running');
      if (current.wf.status === 'failed') break;
      await kit.waitForEvents(current.sessionId, (events) =>
        events.some((e) => e.type === 'node.started' && e.data.nodeId === 'b' && e.data.attempt === crash),
      );
      process.kill();
      process = kit.process();
      current = await kit.resume(current.sessionId, { functions: counted(calls, blockB), log: process.log });
      void current.run.run();
    }
    const final = await current.run.run();
    expect(final.nodes.b).toMatchObject({ status: 'failed', interruptions: 4, error: { code: 'NODE_INTERRUPTED' } });
    expect(final.nodes.d?.status).toBe('skipped');
    expect(calls.b).toBe(4);
    expectContiguous(await kit.events(current.sessionId));
  });
});

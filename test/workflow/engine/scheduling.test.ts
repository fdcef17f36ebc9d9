import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deferred,
  type EngineKit,
  indexOfEvent,
  maxRunning,
  startEngineKit,
  statuses,
  testWorkflow,
  trace,
  until,
} from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

describe('event-driven start', () => {
  it('starts a node as soon as its own dependencies complete, while a sibling branch is still running', async () => {
    // a -> slow -> join ; a -> fast -> next ; (slow, fast) -> join
    const workflow = testWorkflow({
      nodes: [
        { id: 'a' },
        { id: 'slow', dependsOn: ['a'] },
        { id: 'fast', dependsOn: ['a'] },
        { id: 'next', dependsOn: ['fast'] },
        { id: 'join', dependsOn: ['slow', 'fast'] },
      ],
    });
    const slowGate = deferred();
    // `slow` can only finish once `next` has run: if `next` waited for `slow`, the run would hang.
    const { run, sessionId } = await kit.start(workflow, {
      functions: {
        a: () => 'A',
        slow: async () => {
          await slowGate.promise;
          return 'SLOW';
        },
        fast: () => 'FAST',
        next: ({ nodes }) => {
          slowGate.resolve();
          return `after ${nodes.fast?.output}`;
        },
        join: ({ nodes }) => `${nodes.slow?.output}+${nodes.fast?.output}`,
      },
    });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.next?.output).toBe('after FAST');
    expect(final.nodes.join?.output).toBe('SLOW+FAST');
    const events = await kit.events(sessionId);
    expect(indexOfEvent(events, 'node.started', 'next')).toBeLessThan(indexOfEvent(events, 'node.completed', 'slow'));
    expect(indexOfEvent(events, 'node.completed', 'slow')).toBeLessThan(indexOfEvent(events, 'node.started', 'join'));
    expect(indexOfEvent(events, 'node.completed', 'fast')).toBeLessThan(indexOfEvent(events, 'node.started', 'next'));
  });

  it('hands outputs downstream and records the workflow as completed', async () => {
    const workflow = testWorkflow({
      inputs: { n: { type: 'number' } },
      nodes: [{ id: 'double' }, { id: 'inc', dependsOn: ['double'] }],
    });
    const { run, sessionId } = await kit.start(workflow, {
      inputs: { n: 20 },
      functions: {
        double: ({ inputs }) => (inputs.n as number) * 2,
        inc: ({ nodes }) => (nodes.double?.output as number) + 2,
      },
    });
    const final = await run.run();
    expect(final.nodes.inc?.output).toBe(42);
    expect(trace(await kit.events(sessionId))).toEqual([
      'session.created',
      'workflow.started',
      'node.started:double',
      'node.completed:double',
      'node.started:inc',
      'node.completed:inc',
      'workflow.completed',
    ]);
  });
});

describe('concurrency limits', () => {
  it('never runs more nodes at once than the workflow concurrency, and does use it', async () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    const gates = new Map(ids.map((id) => [id, deferred()]));
    const started: string[] = [];
    let running = 0;
    let max = 0;
    const fn = (id: string) => async () => {
      started.push(id);
      max = Math.max(max, ++running);
      await gates.get(id)?.promise;
      running--;
      return id;
    };
    const workflow = testWorkflow({ concurrency: 2, nodes: ids.map((id) => ({ id })) });
    const { run, sessionId } = await kit.start(workflow, {
      functions: Object.fromEntries(ids.map((id) => [id, fn(id)])),
    });
    const done = run.run();
    for (let i = 0; i < ids.length; i++) {
      await until(() => started.length >= Math.min(i + 2, ids.length), `${i + 2} nodes started`);
      expect(running).toBeLessThanOrEqual(2);
      gates.get(started[i] as string)?.resolve();
    }
    expect((await done).status).toBe('completed');
    expect(max).toBe(2);
    expect(maxRunning(await kit.events(sessionId))).toBe(2);
  });

  it('holds a parallel group to its own limit while other nodes run beside it', async () => {
    const inGroup = new Set(['g1', 'g2', 'g3']);
    let groupRunning = 0;
    let groupMax = 0;
    const othersStarted = deferred();
    let others = 0;
    const grouped = async () => {
      groupMax = Math.max(groupMax, ++groupRunning);
      // The first grouped node waits until both free nodes have started beside it.
      await othersStarted.promise;
      groupRunning--;
    };
    const free = async () => {
      if (++others === 2) othersStarted.resolve();
    };
    const workflow = testWorkflow({
      concurrency: 4,
      groups: { g: { concurrency: 1 } },
      nodes: [{ id: 'g1', group: 'g' }, { id: 'g2', group: 'g' }, { id: 'g3', group: 'g' }, { id: 'x' }, { id: 'y' }],
    });
    const { run, sessionId } = await kit.start(workflow, {
      functions: { g1: grouped, g2: grouped, g3: grouped, x: free, y: free },
    });
    expect((await run.run()).status).toBe('completed');
    expect(groupMax).toBe(1);
    const events = await kit.events(sessionId);
    expect(maxRunning(events, inGroup)).toBe(1);
    // FIFO within the group: file order.
    expect(trace(events, ['node.started']).filter((t) => t.includes(':g'))).toEqual([
      'node.started:g1',
      'node.started:g2',
      'node.started:g3',
    ]);
    expect(indexOfEvent(events, 'node.started', 'y')).toBeLessThan(indexOfEvent(events, 'node.completed', 'g1'));
  });
});

describe('a plain run', () => {
  it('settles every node and the workflow in the live state', async () => {
    const workflow = testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] });
    const { run, wf } = await kit.start(workflow, { functions: { a: () => 1, b: () => 2 } });
    await run.run();
    expect(statuses(wf)).toEqual({ a: 'completed', b: 'completed' });
    expect(wf.status).toBe('completed');
    expect(run.run()).toBe(run.run());
  });
});

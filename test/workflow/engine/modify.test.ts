import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { PlanFunctions } from '../../../src/workflow/index.ts';
import {
  deferred,
  type EngineKit,
  indexOfEvent,
  startEngineKit,
  statuses,
  testWorkflow,
  until,
} from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

const fnNode = (id: string, extra: Record<string, unknown> = {}) => ({ id, agent: 'fn', task: `run ${id}`, ...extra });

/** Functions that return their id and count calls; `gates` hold a node until resolved. */
function functions(ids: string[], calls: string[], gates: Record<string, Promise<void>> = {}): PlanFunctions {
  return Object.fromEntries(
    ids.map((id) => [
      id,
      async () => {
        calls.push(id);
        await gates[id];
        return id.toUpperCase();
      },
    ]),
  );
}

const ALL = ['a', 'b', 'x', 'y'];

describe('addNodes', () => {
  it('adds a node that runs after its dependencies', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const { run, wf, sessionId } = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), {
      functions: functions(ALL, calls, { a: gate.promise }),
    });
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    expect(await run.addNodes([fnNode('x', { dependsOn: ['a'] })], 'agent:planner')).toEqual(['x']);
    expect(wf.nodes.x?.status).toBe('pending');
    expect(calls).toEqual(['a']);
    gate.resolve();
    const final = await done;
    expect(statuses(final)).toEqual({ a: 'completed', x: 'completed' });
    const events = await kit.events(sessionId);
    expect(events.find((e) => e.type === 'workflow.modified')?.data).toMatchObject({
      by: 'agent:planner',
      changes: [{ op: 'add_nodes', nodes: [{ id: 'x', dependsOn: ['a'] }] }],
    });
    expect(indexOfEvent(events, 'node.completed', 'a')).toBeLessThan(indexOfEvent(events, 'node.started', 'x'));
  });

  it('requiredBy inserts a node before a pending node', async () => {
    const gates = { a: deferred(), x: deferred() };
    const calls: string[] = [];
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }),
      {
        functions: functions(ALL, calls, { a: gates.a.promise, x: gates.x.promise }),
      },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    await run.addNodes([{ ...fnNode('x'), requiredBy: ['b'] }], 'user');
    await until(() => wf.nodes.x?.status === 'running', 'x to start at once');
    gates.a.resolve();
    await until(() => wf.nodes.a?.status === 'completed');
    expect(wf.nodes.b?.status).toBe('pending');
    gates.x.resolve();
    expect((await done).status).toBe('completed');
    expect(run.plan.node('b')?.dependsOn).toEqual(['a', 'x']);
    const events = await kit.events(sessionId);
    expect(indexOfEvent(events, 'node.completed', 'x')).toBeLessThan(indexOfEvent(events, 'node.started', 'b'));
  });

  it('requiredBy holds back a node that is ready and only waiting for a slot', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const { run, wf } = await kit.start(testWorkflow({ concurrency: 1, nodes: [{ id: 'a' }, { id: 'b' }] }), {
      functions: functions(ALL, calls, { a: gate.promise }),
    });
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    await run.addNodes([{ ...fnNode('x'), requiredBy: ['b'] }], 'user');
    gate.resolve();
    expect((await done).status).toBe('completed');
    expect(calls).toEqual(['a', 'x', 'b']);
  });

  it('a node added while the last node finishes is still run', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const { run, wf } = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), {
      functions: functions(ALL, calls, { a: gate.promise }),
    });
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    const adding = run.addNodes([fnNode('x', { dependsOn: ['a'] })], 'user');
    gate.resolve();
    await adding;
    const final = await done;
    expect(statuses(final)).toEqual({ a: 'completed', x: 'completed' });
    expect(calls).toEqual(['a', 'x']);
  });

  describe('rejected changes record nothing', () => {
    const cases: Array<[string, unknown[], RegExp]> = [
      ['a cycle', [{ ...fnNode('x', { dependsOn: ['b'] }), requiredBy: ['b'] }], /cycle/],
      ['an unknown dependency', [fnNode('x', { dependsOn: ['nope'] })], /nope/],
      ['a duplicate id', [fnNode('a')], /already exists/],
      ['too many nodes', [fnNode('x'), fnNode('y')], /limit of 3/],
      ['requiredBy a started node', [{ ...fnNode('x'), requiredBy: ['a'] }], /running, not pending/],
      ['an unknown agent', [{ id: 'x', agent: 'ghost', task: 't' }], /ghost/],
    ];
    it.each(cases)('%s', async (_name, nodes, message) => {
      const gate = deferred();
      const { run, wf, sessionId } = await kit.start(
        testWorkflow({ limits: { maxNodes: 3 }, nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }),
        { functions: functions(ALL, [], { a: gate.promise }) },
      );
      const done = run.run();
      await until(() => wf.nodes.a?.status === 'running');
      const before = await kit.events(sessionId);
      const error = await run.addNodes(nodes, 'user').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MODIFICATION_REJECTED', message: expect.stringMatching(message) });
      expect(await kit.events(sessionId)).toEqual(before);
      expect(Object.keys(wf.nodes).sort()).toEqual(['a', 'b']);
      expect(run.plan.node('x')).toBeUndefined();
      expect(run.plan.node('b')?.dependsOn).toEqual(['a']);
      gate.resolve();
      expect(statuses(await done)).toEqual({ a: 'completed', b: 'completed' });
    });
  });
});

describe('skipNodes', () => {
  it('skips a pending node (and what depends on it) with the reason', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'x', dependsOn: ['b'] }] }),
      { functions: functions(ALL, calls, { a: gate.promise }) },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    await run.skipNodes(['b'], 'not needed', 'agent:lead');
    gate.resolve();
    const final = await done;
    expect(statuses(final)).toEqual({ a: 'completed', b: 'skipped', x: 'skipped' });
    expect(calls).toEqual(['a']);
    const skipped = (await kit.events(sessionId)).find((e) => e.type === 'node.skipped');
    expect(skipped?.data).toMatchObject({ nodeId: 'b', reason: 'skipped by agent:lead: not needed' });
  });

  it('skips a node that is ready but waiting for a slot', async () => {
    const gate = deferred();
    const calls: string[] = [];
    const { run, wf } = await kit.start(testWorkflow({ concurrency: 1, nodes: [{ id: 'a' }, { id: 'b' }] }), {
      functions: functions(ALL, calls, { a: gate.promise }),
    });
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    await run.skipNodes(['b'], 'not needed', 'user');
    gate.resolve();
    expect(statuses(await done)).toEqual({ a: 'completed', b: 'skipped' });
    expect(calls).toEqual(['a']);
  });

  it('rejects skipping a started or unknown node and records nothing', async () => {
    const gate = deferred();
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }),
      {
        functions: functions(ALL, [], { a: gate.promise }),
      },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    const before = await kit.events(sessionId);
    await expect(run.skipNodes(['b', 'a'], 'r', 'user')).rejects.toMatchObject({ code: 'MODIFICATION_REJECTED' });
    await expect(run.skipNodes(['ghost'], 'r', 'user')).rejects.toMatchObject({ code: 'MODIFICATION_REJECTED' });
    expect(await kit.events(sessionId)).toEqual(before);
    gate.resolve();
    expect(statuses(await done)).toEqual({ a: 'completed', b: 'completed' });
  });
});

describe('a resumed run keeps the nodes added before the crash', () => {
  const added = (events: AnyEvent[]) => events.filter((e) => e.type === 'workflow.modified').length;

  it('rebuilds the plan with added nodes and requiredBy edges, including edges onto added nodes', async () => {
    const calls: string[] = [];
    const first = kit.process();
    const gate = deferred();
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }),
      {
        functions: functions(ALL, calls, { a: gate.promise }),
        log: first.log,
      },
    );
    void run.run();
    await until(() => wf.nodes.a?.status === 'running');
    await run.addNodes([{ ...fnNode('x', { dependsOn: ['a'] }), requiredBy: ['b'] }], 'user');
    await run.addNodes([{ ...fnNode('y', { dependsOn: ['a'] }), requiredBy: ['x'] }], 'user');
    expect(run.plan.node('x')?.dependsOn).toEqual(['a', 'y']);
    await kit.waitForEvents(sessionId, (events) => added(events) === 2);
    first.kill();

    const resumed = await kit.resume(sessionId, { functions: functions(ALL, calls) });
    expect(statuses(resumed.wf)).toEqual({ a: 'running', b: 'pending', x: 'pending', y: 'pending' });
    expect(resumed.run.plan.node('b')?.dependsOn).toEqual(['a', 'x']);
    expect(resumed.run.plan.node('x')?.dependsOn).toEqual(['a', 'y']);
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(calls).toEqual(['a', 'a', 'y', 'x', 'b']);
  });
});

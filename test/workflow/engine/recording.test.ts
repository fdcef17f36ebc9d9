import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import { EventLog } from '../../../src/log/index.ts';
import type { EventStore } from '../../../src/store/index.ts';
import type { NodeExecutor } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

// How the engine writes: events applied to its state at once, appended to the log in order,
// and durable before an executor with effects outside the log starts.

const chain = testWorkflow({
  nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }],
});
const functions = { a: () => 'A', b: () => 'B', c: () => 'C' };

describe('engine recording', () => {
  it('leaves a log whose replay equals the live state, ids and times included', async () => {
    const { run, sessionId, state } = await kit.start(chain, { functions });
    await run.run();

    const replayed = await kit.replay(sessionId);
    // Times too: the event the engine applied is the event it stored.
    expect(replayed.workflows).toEqual(state.workflows);
    const events = await kit.events(sessionId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.source === 'engine').map((e) => `${e.type} ${String(e.data.nodeId ?? '')}`)).toEqual([
      'node.started a',
      'node.completed a',
      'node.started b',
      'node.completed b',
      'node.started c',
      'node.completed c',
      'workflow.completed ',
    ]);
  });

  it('starts an external node only once its node.started is committed', async () => {
    let committedAtStart: AnyEvent[] | undefined;
    let sessionId = '';
    const external: NodeExecutor = {
      external: true,
      async run(context) {
        committedAtStart = await kit.events(sessionId);
        return { ok: true, output: context.node.id };
      },
    };
    // `x` has no function: it runs on the (external) agent executor.
    const started = await kit.start(testWorkflow({ nodes: [{ id: 'a' }, { id: 'x', dependsOn: ['a'] }] }), {
      functions: { a: () => 'A' },
      executors: { agent: external },
    });
    sessionId = started.sessionId;
    const final = await started.run.run();

    expect(final.status).toBe('completed');
    expect(committedAtStart?.map((e) => `${e.type} ${String(e.data.nodeId ?? '')}`)).toEqual(
      expect.arrayContaining(['node.completed a', 'node.started x']),
    );
  });

  it('fails the run with the store error when the log refuses an append', async () => {
    let appends = 0;
    const refusing: EventStore = {
      kind: kit.store.kind,
      append: async (sessionId, events, options) => {
        // The first append of the run is the recorded start of node a; refuse it.
        if (++appends === 1) throw new OrchestratorError('STORE_UNAVAILABLE', 'disk gone');
        return kit.store.append(sessionId, events, options);
      },
      read: (sessionId, options) => kit.store.read(sessionId, options),
      lastSeq: (sessionId) => kit.store.lastSeq(sessionId),
      listSessions: (options) => kit.store.listSessions(options),
      deleteSession: (sessionId) => kit.store.deleteSession(sessionId),
      close: async () => undefined,
    };
    const { run } = await kit.start(chain, { functions, log: new EventLog(refusing) });

    await expect(run.run()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'disk gone' });
  });
});

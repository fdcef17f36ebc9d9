import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import {
  deferred,
  type EngineKit,
  indexOfEvent,
  startEngineKit,
  statuses,
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

const startedAttempts = (events: AnyEvent[], nodeId: string) =>
  events
    .filter((e) => e.type === 'node.started' && e.data.nodeId === nodeId)
    .map((e) => (e.data as { attempt: number }).attempt);

describe('pause and resume', () => {
  it('starts no node while paused, lets the running one finish, and carries on after resume', async () => {
    const gate = deferred();
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }),
      {
        functions: { a: () => gate.promise.then(() => 'A'), b: () => 'B' },
      },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    run.pause({ reason: 'coffee' });
    expect(wf.status).toBe('paused');
    gate.resolve();
    await until(() => wf.nodes.a?.status === 'completed');
    // Starting b would have happened in the same turn as a's completion.
    expect(wf.nodes.b?.status).toBe('pending');
    await sleep(10);
    expect(wf.nodes.b?.status).toBe('pending');
    run.resume('back');
    const final = await done;
    expect(final.status).toBe('completed');
    const events = await kit.events(sessionId);
    expect(trace(events).slice(2)).toEqual([
      'node.started:a',
      'workflow.paused',
      'node.completed:a',
      'workflow.resumed',
      'node.started:b',
      'node.completed:b',
      'workflow.completed',
    ]);
  });

  it('with interruptRunning stops the running node, and resume runs it again without using a retry', async () => {
    let calls = 0;
    let firstReason: unknown;
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 2, backoff: { initial: 1, max: 1 } } }] }),
      {
        functions: {
          a: ({ signal }) => {
            calls++;
            if (calls === 1) {
              return untilAborted(signal).finally(() => {
                firstReason = signal.reason;
              });
            }
            // After the interruption, one real failure is still retried: the pause used no attempt.
            if (calls === 2) throw new OrchestratorError('AGENT_NETWORK', 'flaky');
            return 'done';
          },
        },
      },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    run.pause({ interruptRunning: true });
    await until(() => wf.nodes.a?.status === 'retry_wait');
    expect(firstReason).toBe('pause');
    expect(wf.nodes.a?.interruptions).toBe(1);
    await sleep(10);
    expect(calls).toBe(1);
    run.resume();
    const final = await done;
    expect(final.nodes.a).toMatchObject({ status: 'completed', output: 'done', attempts: 3, interruptions: 1 });
    const events = await kit.events(sessionId);
    expect(trace(events, ['node.started', 'node.interrupted', 'node.failed', 'node.completed'])).toEqual([
      'node.started:a',
      'node.interrupted:a',
      'node.started:a',
      'node.failed:a',
      'node.started:a',
      'node.completed:a',
    ]);
    expect(events.find((e) => e.type === 'node.failed')?.data).toMatchObject({ willRetry: true });
  });

  it('a retry that comes due during a pause runs once after resume', async () => {
    let calls = 0;
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 3, backoff: { initial: 1, max: 1 } } }] }),
      {
        functions: {
          a: async () => {
            calls++;
            if (calls > 1) return 'done';
            run.pause();
            throw new OrchestratorError('AGENT_NETWORK', 'flaky');
          },
        },
      },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'retry_wait');
    // Let the 1 ms retry timer fire while paused.
    await sleep(20);
    expect(calls).toBe(1);
    run.resume();
    expect((await done).nodes.a?.status).toBe('completed');
    expect(calls).toBe(2);
    expect(startedAttempts(await kit.events(sessionId), 'a')).toEqual([1, 2]);
  });
});

describe('cancel', () => {
  it('interrupts running nodes through their signal, cancels pending and queued ones', async () => {
    const reasons: unknown[] = [];
    const blocking = ({ signal }: { signal: AbortSignal }) =>
      untilAborted(signal).finally(() => reasons.push(signal.reason));
    const { run, wf, sessionId } = await kit.start(
      testWorkflow({
        concurrency: 2,
        nodes: [{ id: 'a' }, { id: 'x' }, { id: 'queued' }, { id: 'b', dependsOn: ['a'] }],
      }),
      { functions: { a: blocking, x: blocking, queued: () => 'no', b: () => 'no' } },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running' && wf.nodes.x?.status === 'running');
    run.cancel('user pressed stop');
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(statuses(final)).toEqual({ a: 'cancelled', x: 'cancelled', queued: 'cancelled', b: 'cancelled' });
    expect(reasons).toEqual(['cancel', 'cancel']);
    const events = await kit.events(sessionId);
    expect(trace(events, ['node.started'])).toEqual(['node.started:a', 'node.started:x']);
    expect(events.at(-1)?.data).toMatchObject({ status: 'cancelled' });
    expect(indexOfEvent(events, 'workflow.cancel_requested')).toBeGreaterThan(0);
    expect(() => run.pause()).toThrow(expect.objectContaining({ code: 'WORKFLOW_NOT_RUNNING' }));
  });

  it('cancels an all_done dependent of a cancelled node instead of queueing it', async () => {
    // Cancelling b makes cleanup ready: it must be cancelled, not queued (nothing would ever start it).
    const { run, wf } = await kit.start(
      testWorkflow({
        nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'cleanup', dependsOn: ['b'], trigger: 'all_done' }],
      }),
      { functions: { a: ({ signal }) => untilAborted(signal), b: () => 'no', cleanup: () => 'must not run' } },
    );
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    run.cancel();
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(statuses(final)).toEqual({ a: 'cancelled', b: 'cancelled', cleanup: 'cancelled' });
  });

  it('cancels a node that a pause interrupted, so every node ends settled', async () => {
    const { run, wf } = await kit.start(testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }), {
      functions: { a: ({ signal }) => untilAborted(signal), b: () => 'no' },
    });
    const done = run.run();
    await until(() => wf.nodes.a?.status === 'running');
    run.pause({ interruptRunning: true });
    await until(() => wf.nodes.a?.status === 'retry_wait');
    run.cancel();
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(statuses(final)).toEqual({ a: 'cancelled', b: 'cancelled' });
  });
});

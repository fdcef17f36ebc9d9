import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import { type EngineKit, startEngineKit, testWorkflow, trace, untilAborted } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

const tiny = { initial: 1, max: 2 };

const failures = (events: AnyEvent[]) =>
  events
    .filter((e) => e.type === 'node.failed')
    .map((e) => {
      const data = e.data as { attempt: number; willRetry: boolean; error: { code: string } };
      return { attempt: data.attempt, willRetry: data.willRetry, code: data.error.code };
    });

/** A function that throws the given errors in turn, then returns `done`. */
function flaky(errors: OrchestratorError[]) {
  const calls = { count: 0 };
  const run = () => {
    const error = errors[calls.count++];
    if (error) throw error;
    return 'done';
  };
  return { calls, run };
}

describe('retry', () => {
  it('retries a retryable error until it succeeds, within the attempts', async () => {
    const node = flaky([
      new OrchestratorError('INTERNAL', 'blip', { retryable: true }),
      new OrchestratorError('INTERNAL', 'blip again', { retryable: true }),
    ]);
    const { run, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 3, backoff: tiny } }] }),
      {
        functions: { a: node.run },
      },
    );
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.a).toMatchObject({ status: 'completed', output: 'done', attempts: 3 });
    expect(node.calls.count).toBe(3);
    const events = await kit.events(sessionId);
    expect(failures(events)).toEqual([
      { attempt: 1, willRetry: true, code: 'INTERNAL' },
      { attempt: 2, willRetry: true, code: 'INTERNAL' },
    ]);
    expect(trace(events, ['node.started', 'node.failed', 'node.completed'])).toEqual([
      'node.started:a',
      'node.failed:a',
      'node.started:a',
      'node.failed:a',
      'node.started:a',
      'node.completed:a',
    ]);
    expect(
      events.filter((e) => e.type === 'node.failed').map((e) => (e.data as { retryInMs?: number }).retryInMs),
    ).toEqual([1, 2]);
  });

  it('fails after the last attempt', async () => {
    const node = flaky([1, 2, 3].map((i) => new OrchestratorError('AGENT_NETWORK', `down ${i}`)));
    const { run, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 2, backoff: tiny } }] }),
      {
        functions: { a: node.run },
      },
    );
    const final = await run.run();
    expect(final.status).toBe('failed');
    expect(node.calls.count).toBe(2);
    expect(failures(await kit.events(sessionId))).toEqual([
      { attempt: 1, willRetry: true, code: 'AGENT_NETWORK' },
      { attempt: 2, willRetry: false, code: 'AGENT_NETWORK' },
    ]);
  });

  it('fails at once on an error that is not retryable', async () => {
    const node = flaky([new OrchestratorError('AGENT_FAILED', 'bad input')]);
    const { run, sessionId } = await kit.start(
      testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 3, backoff: tiny } }] }),
      {
        functions: { a: node.run },
      },
    );
    const final = await run.run();
    expect(final.nodes.a?.status).toBe('failed');
    expect(node.calls.count).toBe(1);
    expect(failures(await kit.events(sessionId))).toEqual([{ attempt: 1, willRetry: false, code: 'AGENT_FAILED' }]);
  });

  it('a plain Error thrown by a function is INTERNAL and not retried', async () => {
    const { run } = await kit.start(testWorkflow({ nodes: [{ id: 'a', retry: { attempts: 3, backoff: tiny } }] }), {
      functions: {
        a: () => {
          throw new Error('plain');
        },
      },
    });
    const final = await run.run();
    expect(final.nodes.a).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'INTERNAL', message: 'plain' },
    });
  });

  it('retry.on with codes retries only those codes (retryable or not) and not other transient errors', async () => {
    const on: ErrorCode[] = ['AGENT_FAILED'];
    const listed = flaky([new OrchestratorError('AGENT_FAILED', 'listed, not retryable by default')]);
    const other = flaky([new OrchestratorError('AGENT_NETWORK', 'transient but not listed')]);
    const { run } = await kit.start(
      testWorkflow({
        onFailure: 'continue',
        nodes: [
          { id: 'listed', retry: { attempts: 2, backoff: tiny, on } },
          { id: 'other', retry: { attempts: 2, backoff: tiny, on } },
        ],
      }),
      { functions: { listed: listed.run, other: other.run } },
    );
    const final = await run.run();
    expect(final.nodes.listed?.status).toBe('completed');
    expect(listed.calls.count).toBe(2);
    expect(final.nodes.other?.status).toBe('failed');
    expect(other.calls.count).toBe(1);
  });

  it("retry.on: ['transient', code] retries both", async () => {
    const node = flaky([
      new OrchestratorError('AGENT_NETWORK', 'transient'),
      new OrchestratorError('AGENT_MAX_TURNS', 'listed'),
    ]);
    const { run } = await kit.start(
      testWorkflow({
        nodes: [{ id: 'a', retry: { attempts: 3, backoff: tiny, on: ['transient', 'AGENT_MAX_TURNS'] } }],
      }),
      { functions: { a: node.run } },
    );
    expect((await run.run()).nodes.a?.status).toBe('completed');
    expect(node.calls.count).toBe(3);
  });
});

describe('timeouts', () => {
  it('aborts an attempt that outlives the node timeout and fails it with NODE_TIMEOUT', async () => {
    let reason: unknown;
    const { run, sessionId } = await kit.start(testWorkflow({ nodes: [{ id: 'slow', timeout: 20 }] }), {
      functions: {
        slow: ({ signal }) =>
          untilAborted(signal).finally(() => {
            reason = signal.reason;
          }),
      },
    });
    const final = await run.run();
    expect(final.status).toBe('failed');
    expect(final.nodes.slow?.error?.code).toBe('NODE_TIMEOUT');
    expect(reason).toBe('timeout');
    expect(failures(await kit.events(sessionId))).toEqual([{ attempt: 1, willRetry: false, code: 'NODE_TIMEOUT' }]);
  });

  it('retries a timed out attempt (NODE_TIMEOUT is transient) and keeps the attempt that finishes', async () => {
    let calls = 0;
    const { run } = await kit.start(
      testWorkflow({ nodes: [{ id: 'slow', timeout: 20, retry: { attempts: 2, backoff: tiny } }] }),
      {
        functions: {
          slow: ({ signal }) => (++calls === 1 ? untilAborted(signal) : 'second time lucky'),
        },
      },
    );
    const final = await run.run();
    expect(final.nodes.slow).toMatchObject({ status: 'completed', output: 'second time lucky', attempts: 2 });
  });
});

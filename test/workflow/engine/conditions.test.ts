import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import {
  type EngineKit,
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

const reasonOf = (events: AnyEvent[], nodeId: string) =>
  (events.find((e) => e.type === 'node.skipped' && e.data.nodeId === nodeId)?.data as { reason?: string } | undefined)
    ?.reason;

const fail =
  (code: 'INTERNAL' | 'AGENT_FAILED' = 'AGENT_FAILED') =>
  () => {
    throw new OrchestratorError(code, 'it broke');
  };

describe('conditions', () => {
  it('runs a node whose condition is true and skips one whose condition is false, with the reason', async () => {
    const workflow = testWorkflow({
      inputs: { mode: { type: 'string' } },
      nodes: [
        { id: 'probe' },
        { id: 'yes', dependsOn: ['probe'], condition: "nodes.probe.output == 'big' && inputs.mode == 'full'" },
        { id: 'no', dependsOn: ['probe'], condition: "nodes.probe.output == 'small'" },
        { id: 'afterNo', dependsOn: ['no'] },
        { id: 'afterNoDone', dependsOn: ['no'], trigger: 'all_done' },
        { id: 'afterNoNoneFailed', dependsOn: ['no'], trigger: 'none_failed' },
      ],
    });
    const ran: string[] = [];
    const fn = (id: string, output: unknown) => () => {
      ran.push(id);
      return output;
    };
    const { run, sessionId } = await kit.start(workflow, {
      inputs: { mode: 'full' },
      functions: {
        probe: fn('probe', 'big'),
        yes: fn('yes', 1),
        no: fn('no', 2),
        afterNo: fn('afterNo', 3),
        afterNoDone: fn('afterNoDone', 4),
        afterNoNoneFailed: fn('afterNoNoneFailed', 5),
      },
    });
    const final = await run.run();
    expect(final.status).toBe('completed');
    expect(statuses(final)).toEqual({
      probe: 'completed',
      yes: 'completed',
      no: 'skipped',
      afterNo: 'skipped',
      afterNoDone: 'completed',
      afterNoNoneFailed: 'completed',
    });
    expect(ran.sort()).toEqual(['afterNoDone', 'afterNoNoneFailed', 'probe', 'yes']);
    const events = await kit.events(sessionId);
    expect(reasonOf(events, 'no')).toBe('condition is false');
    expect(reasonOf(events, 'afterNo')).toBe('dependency "no" skipped (trigger all_success)');
  });

  it('fails a node whose condition cannot be evaluated with CONDITION_FAILED', async () => {
    const workflow = testWorkflow({
      onFailure: 'continue',
      nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'], condition: 'nodes.a.output > 3' }],
    });
    const { run } = await kit.start(workflow, { functions: { a: () => 'not a number', b: () => 'ran' } });
    const final = await run.run();
    expect(final.nodes.b?.status).toBe('failed');
    expect(final.nodes.b?.error?.code).toBe('CONDITION_FAILED');
    expect(final.status).toBe('failed');
  });
});

describe('trigger rules downstream of a failure (onFailure: continue)', () => {
  it('skips all_success and none_failed dependents, runs all_done ones and unrelated nodes', async () => {
    const workflow = testWorkflow({
      onFailure: 'continue',
      nodes: [
        { id: 'ok' },
        { id: 'bad' },
        { id: 'strict', dependsOn: ['ok', 'bad'] },
        { id: 'cleanup', dependsOn: ['ok', 'bad'], trigger: 'all_done' },
        { id: 'tolerant', dependsOn: ['ok', 'bad'], trigger: 'none_failed' },
        { id: 'afterStrict', dependsOn: ['strict'], trigger: 'none_failed' },
        { id: 'other', dependsOn: ['ok'] },
      ],
    });
    const { run, sessionId } = await kit.start(workflow, {
      functions: {
        ok: () => 'fine',
        bad: fail(),
        strict: () => 'x',
        cleanup: ({ nodes }) => `${nodes.ok?.status}/${nodes.bad?.status}`,
        tolerant: () => 'x',
        afterStrict: () => 'ran after a skipped node',
        other: () => 'y',
      },
    });
    const final = await run.run();
    expect(statuses(final)).toEqual({
      ok: 'completed',
      bad: 'failed',
      strict: 'skipped',
      cleanup: 'completed',
      tolerant: 'skipped',
      afterStrict: 'completed',
      other: 'completed',
    });
    expect(final.nodes.cleanup?.output).toBe('completed/failed');
    expect(final.status).toBe('failed');
    const events = await kit.events(sessionId);
    expect(reasonOf(events, 'tolerant')).toBe('dependency "bad" failed (trigger none_failed)');
    const completed = events.at(-1);
    expect(completed?.type).toBe('workflow.completed');
    expect(completed?.data).toMatchObject({ status: 'failed', error: { code: 'AGENT_FAILED', message: 'it broke' } });
  });
});

describe('fail_fast', () => {
  it('cancels running nodes through their signal and skips pending ones', async () => {
    const workflow = testWorkflow({
      concurrency: 2,
      nodes: [
        { id: 'long' },
        { id: 'bad' },
        { id: 'queued' },
        { id: 'afterLong', dependsOn: ['long'], trigger: 'all_done' },
      ],
    });
    let abortReason: unknown;
    const { run, sessionId } = await kit.start(workflow, {
      functions: {
        long: ({ signal }) =>
          untilAborted(signal).catch((error) => {
            abortReason = signal.reason;
            throw error;
          }),
        // Fails once `long` is surely running, while `queued` waits for a slot.
        bad: async ({ nodes }) => {
          await until(() => nodes.long?.status === 'running');
          throw new OrchestratorError('AGENT_FAILED', 'boom');
        },
        queued: () => 'should not run',
        afterLong: () => 'should not run',
      },
    });
    const final = await run.run();
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe('AGENT_FAILED');
    expect(statuses(final)).toEqual({ long: 'cancelled', bad: 'failed', queued: 'skipped', afterLong: 'skipped' });
    expect(abortReason).toBe('fail_fast');
    const events = await kit.events(sessionId);
    expect(trace(events, ['node.started'])).toEqual(['node.started:long', 'node.started:bad']);
    expect(reasonOf(events, 'queued')).toBe('the workflow is failing (fail_fast)');
  });

  it('does not start a retry of another node once the workflow is failing', async () => {
    const workflow = testWorkflow({
      nodes: [
        // A long backoff: if fail_fast left the retry scheduled, the run would wait for it.
        { id: 'flaky', retry: { attempts: 3, backoff: { initial: '10m', max: '10m' } } },
        { id: 'bad' },
      ],
    });
    let flakyCalls = 0;
    const { run, wf } = await kit.start(workflow, {
      functions: {
        flaky: () => {
          flakyCalls++;
          throw new OrchestratorError('AGENT_NETWORK', 'transient');
        },
        bad: async () => {
          await until(() => wf.nodes.flaky?.status === 'retry_wait', 'flaky to wait for its retry');
          throw new OrchestratorError('AGENT_FAILED', 'boom');
        },
      },
    });
    const final = await run.run();
    expect(final.status).toBe('failed');
    expect(flakyCalls).toBe(1);
    expect(final.nodes.flaky?.status).toBe('cancelled');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { NodeExecutor, PendingControl, PlanFunctions } from '../../../src/workflow/index.ts';
import {
  applyAll,
  deferred,
  type EngineKit,
  type EngineRun,
  startEngineKit,
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

type ControlData = Omit<PendingControl, 'controlId'> & { controlId?: string };
let controls = 0;

/** Records a control request in the log, as another process would; returns the committed event. */
async function requestControl(sessionId: string, data: ControlData): Promise<AnyEvent> {
  const controlId = data.controlId ?? `ctl_test_${++controls}`;
  const [event] = await kit.log.append(sessionId, [
    { type: 'control.requested', source: 'control', data: { ...data, controlId } },
  ]);
  return event as AnyEvent;
}

/** Records a control request and hands it to a live run, as the owner's watcher does. */
async function control(r: EngineRun, data: ControlData): Promise<string> {
  const event = await requestControl(r.sessionId, data);
  const controlId = (event.data as { controlId: string }).controlId;
  applyAll(r.state, [event]);
  const pending = r.state.controls?.[controlId];
  expect(pending).toBeDefined();
  r.run.applyControl(pending as PendingControl);
  return controlId;
}

const withControl = (events: AnyEvent[], controlId: string) =>
  events.filter((e) => e.type !== 'control.requested' && (e.data as { controlId?: string }).controlId === controlId);
const requests = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'input.requested').map((e) => e.data as { requestId: string });

/** Waits until the log holds the event carrying `controlId`, then checks nobody still sees it pending. */
async function handled(r: EngineRun, controlId: string): Promise<AnyEvent> {
  const events = await kit.waitForEvents(r.sessionId, (all) => withControl(all, controlId).length > 0);
  expect(r.state.controls?.[controlId]).toBeUndefined();
  expect((await kit.replay(r.sessionId)).controls?.[controlId]).toBeUndefined();
  const [event] = withControl(events, controlId);
  return event as AnyEvent;
}

const blockingA: PlanFunctions = { a: ({ signal }) => untilAborted(signal) };
const askFlow = testWorkflow({ nodes: [{ id: 'ask', kind: 'human', prompt: 'Name?' }] });

describe('control requests applied by the owner', () => {
  it('cancel: workflow.cancel_requested carries the controlId and its reason', async () => {
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), { functions: blockingA });
    const done = r.run.run();
    await until(() => r.wf.nodes.a?.status === 'running');
    const id = await control(r, { action: 'cancel', reason: 'from the cli' });
    expect((await done).status).toBe('cancelled');
    expect(await handled(r, id)).toMatchObject({
      type: 'workflow.cancel_requested',
      data: { controlId: id, reason: 'from the cli' },
    });
  });

  it('pause then resume: each event carries its controlId; the pause interrupts running nodes', async () => {
    let calls = 0;
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), {
      functions: { a: ({ signal }) => (++calls === 1 ? untilAborted(signal) : 'A') },
    });
    const done = r.run.run();
    await until(() => r.wf.nodes.a?.status === 'running');
    const paused = await control(r, { action: 'pause' });
    expect(await handled(r, paused)).toMatchObject({
      type: 'workflow.paused',
      data: { controlId: paused, interruptRunning: true },
    });
    await until(() => r.wf.nodes.a?.status === 'retry_wait');
    const resumed = await control(r, { action: 'resume', reason: 'go' });
    expect(await handled(r, resumed)).toMatchObject({ type: 'workflow.resumed', data: { controlId: resumed } });
    expect((await done).nodes.a).toMatchObject({ status: 'completed', output: 'A' });
  });

  it('answer: user.input carries the controlId, who answered, and completes the node', async () => {
    const r = await kit.start(askFlow);
    const done = r.run.run();
    const [request] = requests(await kit.waitForEvents(r.sessionId, (e) => requests(e).length > 0));
    const id = await control(r, { action: 'answer', requestId: request?.requestId, value: 'Ada', by: 'cli' });
    expect((await done).nodes.ask).toMatchObject({ status: 'completed', output: 'Ada' });
    expect(await handled(r, id)).toMatchObject({
      type: 'user.input',
      data: { controlId: id, requestId: request?.requestId, value: 'Ada', by: 'cli' },
    });
  });

  it('an answer to an unknown question and a resume when not paused are recorded control.rejected', async () => {
    const r = await kit.start(askFlow);
    const done = r.run.run();
    const [request] = requests(await kit.waitForEvents(r.sessionId, (e) => requests(e).length > 0));
    const unknown = await control(r, { action: 'answer', requestId: 'req_nope', value: 'x' });
    expect(await handled(r, unknown)).toMatchObject({
      type: 'control.rejected',
      data: { controlId: unknown, reason: 'no open question "req_nope"' },
    });
    const resume = await control(r, { action: 'resume' });
    expect(await handled(r, resume)).toMatchObject({
      type: 'control.rejected',
      data: { controlId: resume, reason: 'the workflow is not paused' },
    });
    // Neither touched the run.
    expect(r.wf.nodes.ask?.status).toBe('awaiting_input');
    expect(trace(await kit.events(r.sessionId))).not.toContain('workflow.resumed');
    await r.run.answer(request?.requestId as string, 'still asked');
    expect((await done).status).toBe('completed');
  });

  it('a control arriving after the run ended is rejected with the final status', async () => {
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), { functions: { a: () => 'A' } });
    await r.run.run();
    const id = await control(r, { action: 'cancel' });
    expect(await handled(r, id)).toMatchObject({
      type: 'control.rejected',
      data: { controlId: id, reason: 'the workflow is completed' },
    });
  });

  it('a cancel during a rollback is applied, not rejected: the rollback stops and the run ends cancelled', async () => {
    const compensating = deferred();
    const undo: NodeExecutor = {
      external: true,
      async run(context) {
        compensating.resolve();
        await untilAborted(context.signal);
        return { ok: true, output: 'undone' };
      },
    };
    const r = await kit.start(
      testWorkflow({
        rollback: true,
        nodes: [
          { id: 'a', compensation: 'undo a' },
          { id: 'breaks', dependsOn: ['a'] },
        ],
      }),
      {
        functions: {
          a: () => 'A',
          breaks: () => {
            throw new OrchestratorError('AGENT_FAILED', 'broken');
          },
        },
        executors: { agent: undo },
      },
    );
    const done = r.run.run();
    await compensating.promise;
    const id = await control(r, { action: 'cancel', reason: 'stop undoing' });
    expect(await handled(r, id)).toMatchObject({ type: 'workflow.cancel_requested', data: { controlId: id } });
    expect((await done).status).toBe('cancelled');
  });
});

describe('control requests recorded while no process owned the run', () => {
  it('a suspended run leaves a control pending for the next owner instead of rejecting it', async () => {
    const r = await kit.start(testWorkflow({ nodes: [{ id: 'a' }] }), { functions: blockingA });
    const done = r.run.run();
    await until(() => r.wf.nodes.a?.status === 'running');
    await r.run.suspend();
    await done;
    const event = await requestControl(r.sessionId, { action: 'cancel', reason: 'later' });
    applyAll(r.state, [event]);
    const controlId = (event.data as { controlId: string }).controlId;
    r.run.applyControl(r.state.controls?.[controlId] as PendingControl);
    const events = await kit.events(r.sessionId);
    expect(withControl(events, controlId)).toEqual([]);
    const next = await kit.resume(r.sessionId, { functions: { a: () => 'A' } });
    expect((await next.run.run()).status).toBe('cancelled');
  });

  it('a cancel in the log before run() is applied at start: no node starts', async () => {
    const started = await kit.start(testWorkflow({ nodes: [{ id: 'a' }, { id: 'b', dependsOn: ['a'] }] }));
    const { controlId: id } = (await requestControl(started.sessionId, { action: 'cancel', reason: 'changed my mind' }))
      .data as PendingControl;
    const r = await kit.resume(started.sessionId, { functions: { a: () => 'A', b: () => 'B' } });
    expect(r.state.controls?.[id]).toMatchObject({ action: 'cancel' });
    const final = await r.run.run();
    expect(final.status).toBe('cancelled');
    const events = await kit.events(r.sessionId);
    expect(trace(events, ['node.started'])).toEqual([]);
    expect(await handled(r, id)).toMatchObject({
      type: 'workflow.cancel_requested',
      data: { controlId: id, reason: 'changed my mind' },
    });
  });

  it('an answer in the log after a crash is applied at start: the node completes, nothing is asked again', async () => {
    const first = kit.process();
    const started = await kit.start(askFlow, { log: first.log });
    void started.run.run();
    const [request] = requests(await kit.waitForEvents(started.sessionId, (e) => requests(e).length > 0));
    first.kill();
    await first.dead;
    const { controlId: id } = (
      await requestControl(started.sessionId, {
        action: 'answer',
        requestId: request?.requestId,
        value: 'while you were away',
      })
    ).data as PendingControl;
    const r = await kit.resume(started.sessionId);
    const final = await r.run.run();
    expect(final.nodes.ask).toMatchObject({ status: 'completed', output: 'while you were away', interruptions: 0 });
    expect(await handled(r, id)).toMatchObject({ type: 'user.input', data: { controlId: id } });
    expect(requests(await kit.events(r.sessionId))).toHaveLength(1);
  });
});

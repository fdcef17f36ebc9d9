import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../../src/errors/index.ts';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { NodeExecutor } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, testWorkflow, trace, until } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

type Requested = { requestId: string; nodeId: string; kind: string; attempt?: number; agentId?: string };
const requests = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'input.requested').map((e) => e.data as Requested);
const closed = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'input.closed').map((e) => e.data as { requestId: string; reason: string });
const requestCount = (n: number) => (events: AnyEvent[]) => requests(events).length >= n;

const tiny = { initial: 1, max: 1 };

const askFlow = testWorkflow({
  nodes: [
    { id: 'ask', kind: 'human', prompt: 'Name?' },
    { id: 'after', dependsOn: ['ask'] },
  ],
});

const approvalFlow = testWorkflow({
  nodes: [
    {
      id: 'approve',
      kind: 'approval',
      prompt: 'Ship it?',
      retry: { attempts: 2, backoff: tiny, on: ['APPROVAL_REJECTED'] },
    },
    { id: 'ship', dependsOn: ['approve'] },
  ],
});
const approvalFunctions = { ship: () => 'shipped' };

describe('questions end with their node', () => {
  it('a cancel closes the open question of a human node; the run ends cancelled, not awaiting input', async () => {
    const { run, wf, sessionId } = await kit.start(askFlow, { functions: { after: () => 'no' } });
    const done = run.run();
    const [request] = requests(await kit.waitForEvents(sessionId, requestCount(1)));
    expect(wf.status).toBe('awaiting_input');
    run.cancel('never mind');
    const final = await done;
    expect(final.status).toBe('cancelled');
    expect(final.inputRequests).toEqual({});
    expect(final.nodes.ask?.status).toBe('cancelled');
    const events = await kit.events(sessionId);
    expect(closed(events)).toEqual([
      expect.objectContaining({ requestId: request?.requestId, nodeId: 'ask', reason: 'the node was cancelled' }),
    ]);
    // What any reader of the log sees, too.
    const replayed = Object.values((await kit.replay(sessionId)).workflows)[0];
    expect(replayed?.status).toBe('cancelled');
    expect(replayed?.inputRequests).toEqual({});
    expect(trace(events).slice(-3)).toEqual(['input.closed:ask', 'node.cancelled:ask', 'workflow.completed']);
  });

  it("a node that fails while its agent's question is open closes the question", async () => {
    let wf: { inputRequests: object } | undefined;
    const asking: NodeExecutor = {
      external: true,
      async run(context) {
        void context.requestInput('input', 'Which branch?', { agentId: 'agt_q' }).catch(() => undefined);
        await until(() => Object.keys(wf?.inputRequests ?? {}).length > 0, 'the question recorded');
        return { ok: false, error: new OrchestratorError('AGENT_FAILED', 'gave up') };
      },
    };
    const started = await kit.start(testWorkflow({ nodes: [{ id: 'agent' }] }), { executors: { agent: asking } });
    wf = started.wf;
    const final = await started.run.run();
    expect(final.status).toBe('failed');
    expect(final.inputRequests).toEqual({});
    const events = await kit.events(started.sessionId);
    const [request] = requests(events);
    expect(request).toMatchObject({ nodeId: 'agent', agentId: 'agt_q', attempt: 1 });
    expect(closed(events)).toEqual([
      expect.objectContaining({ requestId: request?.requestId, nodeId: 'agent', reason: 'the node failed' }),
    ]);
    expect(trace(events, ['input.closed', 'node.failed'])).toEqual(['input.closed:agent', 'node.failed:agent']);
  });
});

describe('one question per attempt', () => {
  it('a retried approval asks again on its next attempt instead of reusing the rejection', async () => {
    const { run, sessionId } = await kit.start(approvalFlow, { functions: approvalFunctions });
    const done = run.run();
    const [first] = requests(await kit.waitForEvents(sessionId, requestCount(1)));
    expect(first).toMatchObject({ nodeId: 'approve', kind: 'approval', attempt: 1 });
    await run.answer(first?.requestId as string, { approved: false, comment: 'not yet' });
    const [, second] = requests(await kit.waitForEvents(sessionId, requestCount(2)));
    expect(second).toMatchObject({ nodeId: 'approve', kind: 'approval', attempt: 2 });
    expect(second?.requestId).not.toBe(first?.requestId);
    await run.answer(second?.requestId as string, { approved: true });
    const final = await done;
    expect(final.status).toBe('completed');
    expect(final.nodes.approve).toMatchObject({ status: 'completed', attempts: 2, output: { approved: true } });
    const events = await kit.events(sessionId);
    expect(events.find((e) => e.type === 'node.failed')?.data).toMatchObject({
      attempt: 1,
      willRetry: true,
      error: { code: 'APPROVAL_REJECTED' },
    });
  });

  it("after a crash, an answer committed to attempt N completes the node; attempt 1's rejection is not reused", async () => {
    let armed = false;
    const first = kit.process({ killAfter: (event) => armed && event.type === 'user.input' });
    const { run, sessionId } = await kit.start(approvalFlow, { functions: approvalFunctions, log: first.log });
    void run.run();
    const [one] = requests(await kit.waitForEvents(sessionId, requestCount(1)));
    await run.answer(one?.requestId as string, { approved: false });
    const [, two] = requests(await kit.waitForEvents(sessionId, requestCount(2)));
    armed = true;
    await run.answer(two?.requestId as string, { approved: true, comment: 'before dying' });
    await first.dead;

    const resumed = await kit.resume(sessionId, { functions: approvalFunctions });
    expect(resumed.wf.nodes.approve).toMatchObject({ status: 'running', attempts: 2 });
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.approve).toMatchObject({
      status: 'completed',
      attempts: 2,
      interruptions: 0,
      output: { approved: true, comment: 'before dying' },
    });
    const events = await kit.events(sessionId);
    expect(requests(events)).toHaveLength(2);
    expect(trace(events, ['node.started', 'node.interrupted']).filter((t) => t.endsWith(':approve'))).toEqual([
      'node.started:approve',
      'node.started:approve',
    ]);
  });

  it('after a crash with attempt N asked but unanswered, the run awaits that question', async () => {
    const first = kit.process();
    const { run, sessionId } = await kit.start(approvalFlow, { functions: approvalFunctions, log: first.log });
    void run.run();
    const [one] = requests(await kit.waitForEvents(sessionId, requestCount(1)));
    await run.answer(one?.requestId as string, { approved: false });
    const [, two] = requests(await kit.waitForEvents(sessionId, requestCount(2)));
    first.kill();
    await first.dead;

    const resumed = await kit.resume(sessionId, { functions: approvalFunctions });
    const done = resumed.run.run();
    // The rejection belongs to attempt 1: attempt 2 keeps waiting for its own answer.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resumed.wf.nodes.approve?.status).toBe('awaiting_input');
    expect(Object.keys(resumed.wf.inputRequests)).toEqual([two?.requestId]);
    await resumed.run.answer(two?.requestId as string, true);
    expect((await done).nodes.approve).toMatchObject({ status: 'completed', attempts: 2 });
    expect(requests(await kit.events(sessionId))).toHaveLength(2);
  });
});

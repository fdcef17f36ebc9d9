import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../../src/events/index.ts';
import type { PlanFunctions } from '../../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, statuses, testWorkflow, trace } from '../../support/engine-kit.ts';

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

type Requested = { requestId: string; nodeId: string; kind: string; prompt: string };
const requests = (events: AnyEvent[]) =>
  events.filter((e) => e.type === 'input.requested').map((e) => e.data as Requested);
const hasRequest = (events: AnyEvent[]) => requests(events).length > 0;

const askFlow = testWorkflow({
  nodes: [
    { id: 'draft' },
    { id: 'ask', kind: 'human', prompt: 'A title for {{ nodes.draft.output }}?', dependsOn: ['draft'] },
    { id: 'publish', dependsOn: ['ask'] },
  ],
});
const askFunctions: PlanFunctions = {
  draft: () => 'the draft',
  publish: ({ nodes }) => `published as "${nodes.ask?.output}"`,
};

const approvalFlow = testWorkflow({
  nodes: [
    { id: 'change' },
    { id: 'approve', kind: 'approval', prompt: 'Ship {{ nodes.change.output }}?', dependsOn: ['change'] },
    { id: 'ship', dependsOn: ['approve'] },
  ],
});
const approvalFunctions = { change: () => 'v2', ship: () => 'shipped' };

describe('human input', () => {
  it('records input.requested with the rendered prompt and continues at the node with the answer as its output', async () => {
    const { run, wf, sessionId } = await kit.start(askFlow, { functions: askFunctions });
    const done = run.run();
    const events = await kit.waitForEvents(sessionId, hasRequest);
    const [request] = requests(events);
    expect(request).toMatchObject({ nodeId: 'ask', kind: 'input', prompt: 'A title for the draft?' });
    expect(wf.status).toBe('awaiting_input');
    expect(wf.nodes.ask?.status).toBe('awaiting_input');
    expect(wf.nodes.publish?.status).toBe('pending');
    await run.answer(request?.requestId as string, 'Hello', 'alice');
    const final = await done;
    expect(final.status).toBe('completed');
    expect(final.nodes.ask?.output).toBe('Hello');
    expect(final.nodes.publish?.output).toBe('published as "Hello"');
    const all = await kit.events(sessionId);
    expect(all.find((e) => e.type === 'user.input')?.data).toMatchObject({
      requestId: request?.requestId,
      value: 'Hello',
      by: 'alice',
    });
    expect(Object.keys(final.inputRequests)).toEqual([]);
  });

  it('rejects an answer to an unknown request with INPUT_REQUEST_NOT_FOUND and records nothing', async () => {
    const { run, sessionId } = await kit.start(askFlow, { functions: askFunctions });
    const done = run.run();
    const before = await kit.waitForEvents(sessionId, hasRequest);
    await expect(run.answer('req_nope', 'x')).rejects.toMatchObject({ code: 'INPUT_REQUEST_NOT_FOUND' });
    expect(await kit.events(sessionId)).toHaveLength(before.length);
    run.cancel();
    expect((await done).status).toBe('cancelled');
  });
});

describe('approval', () => {
  it('an approval continues the run with { approved, comment } as output', async () => {
    const { run, sessionId } = await kit.start(approvalFlow, { functions: approvalFunctions });
    const done = run.run();
    const [request] = requests(await kit.waitForEvents(sessionId, hasRequest));
    expect(request).toMatchObject({ kind: 'approval', prompt: 'Ship v2?' });
    await run.answer(request?.requestId as string, { approved: true, comment: 'lgtm' });
    const final = await done;
    expect(final.nodes.approve?.output).toEqual({ approved: true, comment: 'lgtm' });
    expect(final.nodes.ship?.status).toBe('completed');
  });

  it('a rejection fails the node with APPROVAL_REJECTED and skips what depends on it', async () => {
    const { run, sessionId } = await kit.start(approvalFlow, { functions: approvalFunctions });
    const done = run.run();
    const [request] = requests(await kit.waitForEvents(sessionId, hasRequest));
    await run.answer(request?.requestId as string, { approved: false, comment: 'not yet' });
    const final = await done;
    expect(final.status).toBe('failed');
    expect(final.nodes.approve?.error).toMatchObject({ code: 'APPROVAL_REJECTED' });
    expect(final.nodes.approve?.error?.message).toContain('not yet');
    expect(final.nodes.ship?.status).toBe('skipped');
  });
});

describe('durable human-in-the-loop', () => {
  it('after a killed process, a new run awaits the same request and the answer completes the workflow', async () => {
    const first = kit.process();
    const { run, sessionId } = await kit.start(askFlow, { functions: askFunctions, log: first.log });
    void run.run();
    const [request] = requests(await kit.waitForEvents(sessionId, hasRequest));
    first.kill();

    const resumed = await kit.resume(sessionId, { functions: askFunctions });
    expect(resumed.wf.status).toBe('awaiting_input');
    const done = resumed.run.run();
    expect(resumed.wf.nodes.ask?.status).toBe('awaiting_input');
    await resumed.run.answer(request?.requestId as string, 'After restart');
    const final = await done;
    expect(final.status).toBe('completed');
    expect(final.nodes.publish?.output).toBe('published as "After restart"');
    const events = await kit.events(sessionId);
    expect(requests(events).map((r) => r.requestId)).toEqual([request?.requestId]);
    expect(trace(events, ['node.started', 'node.interrupted']).filter((t) => t.endsWith(':ask'))).toEqual([
      'node.started:ask',
    ]);
  });

  it('survives any number of suspend/resume cycles without counting them as interruptions', async () => {
    let current = await kit.start(askFlow, { functions: askFunctions });
    void current.run.run();
    const [request] = requests(await kit.waitForEvents(current.sessionId, hasRequest));
    for (let i = 0; i < 5; i++) {
      await current.run.suspend();
      current = await kit.resume(current.sessionId, { functions: askFunctions });
      void current.run.run();
      expect(current.wf.nodes.ask?.status).toBe('awaiting_input');
    }
    await current.run.answer(request?.requestId as string, 'patient');
    const final = await current.run.run();
    expect(final.status).toBe('completed');
    expect(final.nodes.ask).toMatchObject({ output: 'patient', interruptions: 0 });
    expect(requests(await kit.events(current.sessionId))).toHaveLength(1);
  });

  it('an answer committed just before the crash is used by the next run; the question is not asked again', async () => {
    const first = kit.process({ killAfter: (event) => event.type === 'user.input' });
    const { run, sessionId } = await kit.start(askFlow, { functions: askFunctions, log: first.log });
    void run.run();
    const [request] = requests(await kit.waitForEvents(sessionId, hasRequest));
    await run.answer(request?.requestId as string, 'said before dying');

    const resumed = await kit.resume(sessionId, { functions: askFunctions });
    expect(resumed.wf.nodes.ask?.status).toBe('running');
    const final = await resumed.run.run();
    expect(final.status).toBe('completed');
    expect(statuses(final)).toEqual({ draft: 'completed', ask: 'completed', publish: 'completed' });
    expect(final.nodes.ask?.output).toBe('said before dying');
    expect(requests(await kit.events(sessionId))).toHaveLength(1);
  });
});

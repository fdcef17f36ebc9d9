import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { monitoring, questions, sessions } from '../../src/server/contract/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { ASK_ONLY } from './fixtures.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// Sessions through the API, over a real orchestrator: started, listed, shown, answered, paused,
// resumed and cancelled; every control request audited with the key that sent it.

type Question = { requestId: string; kind: string; nodeId?: string; sessionId: string };

describe('session routes', () => {
  let kit: ServerKit;
  let run: string;
  let read: string;
  let approve: string;
  let runId: string;

  const start = async (body: Record<string, unknown>) => {
    const answer = await kit.call<{ sessionId: string; workflowId: string }>('POST', '/v1/sessions', {
      key: run,
      body,
    });
    expect(answer.status, answer.text).toBe(201);
    return sessions.startSession.response.parse(answer.body);
  };
  const openQuestions = async (sessionId: string) =>
    questions.sessionQuestions.response.parse(
      (await kit.call('GET', `/v1/sessions/${sessionId}/questions`, { key: read })).body,
    ).questions as Question[];
  const waitForQuestion = (sessionId: string, nodeId: string) =>
    waitFor(
      async () => (await openQuestions(sessionId)).find((q) => q.nodeId === nodeId),
      `a question of ${nodeId} in ${sessionId}`,
      { timeoutMs: 20_000 },
    );
  const show = async (sessionId: string) => {
    const answer = await kit.call('GET', `/v1/sessions/${sessionId}`, { key: read });
    expect(answer.status, answer.text).toBe(200);
    return sessions.showSession.response.parse(answer.body);
  };
  const events = async (sessionId: string) => {
    const out: AnyEvent[] = [];
    for await (const event of kit.orchestrator.log.readAll(sessionId)) out.push(event);
    return out;
  };

  beforeAll(async () => {
    kit = await startServerKit();
    run = await kit.key('run', 'runner');
    read = await kit.key('read', 'viewer');
    approve = await kit.key('approve', 'reviewer');
    runId = run.split('_')[1] as string;
    const registered = await kit.call('POST', '/v1/workflows', { key: run, body: { source: ASK_ONLY } });
    expect(registered.status).toBe(201);
  });
  afterAll(() => kit?.close());

  it('starts a registered workflow, answers its question and approval, and shows it completed', async () => {
    const started = await start({ workflow: 'ask-only', inputs: { topic: 'cats' }, sessionId: 'ses-answered' });
    expect(started).toMatchObject({ sessionId: 'ses-answered', workflow: { name: 'ask-only', version: 1 } });
    const asked = await waitForQuestion('ses-answered', 'ask');
    expect(asked).toMatchObject({ kind: 'input' });
    const during = await show('ses-answered');
    expect(during).toMatchObject({
      status: 'awaiting_input',
      owner: { here: true, pid: process.pid },
      questions: [expect.objectContaining({ requestId: asked.requestId, prompt: 'What about cats?' })],
    });
    expect(during.workflows[0]?.inputs).toEqual({ topic: 'cats', rounds: 1 });

    // Only a key with `approve` may answer.
    const refused = await kit.call('POST', `/v1/sessions/ses-answered/questions/${asked.requestId}/answer`, {
      key: run,
      body: { value: 'blue' },
    });
    expect(refused.status).toBe(403);
    const answered = await kit.call('POST', `/v1/sessions/ses-answered/questions/${asked.requestId}/answer`, {
      key: approve,
      body: { value: 'blue' },
    });
    expect(answered.status).toBe(202);
    expect(questions.answerQuestion.response.parse(answered.body)).toMatchObject({ action: 'answer', applied: 'now' });

    const approval = await waitForQuestion('ses-answered', 'approve');
    expect(approval).toMatchObject({ kind: 'approval' });
    const noValue = await kit.call('POST', `/v1/sessions/ses-answered/questions/${approval.requestId}/answer`, {
      key: approve,
      body: { comment: 'hmm' },
    });
    expect(noValue.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.approved' } } });
    await kit.call('POST', `/v1/sessions/ses-answered/questions/${approval.requestId}/answer`, {
      key: approve,
      body: { approved: true, comment: 'ship it' },
    });
    await waitFor(async () => (await show('ses-answered')).status === 'completed', 'the session to complete', {
      timeoutMs: 20_000,
    });
    const done = await show('ses-answered');
    expect(done.workflows[0]?.nodes).toEqual([
      expect.objectContaining({ id: 'ask', status: 'completed', output: 'blue' }),
      expect.objectContaining({ id: 'approve', status: 'completed', output: { approved: true, comment: 'ship it' } }),
    ]);
    expect(done.owner).toBeNull();
    expect(done.report.byType['user.input']).toBe(2);

    // The audit: who started it, and who answered, by key id and name.
    const log = await events('ses-answered');
    const reviewerId = approve.split('_')[1] as string;
    expect(log.find((e) => e.type === 'session.created')?.data).toMatchObject({ by: `api:${runId}:runner` });
    expect(log.filter((e) => e.type === 'control.requested').map((e) => e.data)).toEqual([
      expect.objectContaining({ action: 'answer', by: `api:${reviewerId}:reviewer`, value: 'blue' }),
      expect.objectContaining({ action: 'answer', by: `api:${reviewerId}:reviewer` }),
    ]);

    // An answered question is not open any more.
    const late = await kit.call('POST', `/v1/sessions/ses-answered/questions/${asked.requestId}/answer`, {
      key: approve,
      body: { value: 'red' },
    });
    expect(late.status).toBe(404);
    expect(late.body).toMatchObject({ error: { code: 'INPUT_REQUEST_NOT_FOUND' } });
  });

  it('starts a workflow sent inline, and checks its inputs before anything starts', async () => {
    const bad = await kit.call('POST', '/v1/sessions', {
      key: run,
      body: { source: ASK_ONLY, inputs: { topic: 3 }, sessionId: 'ses-never' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.inputs.topic' } } });
    expect((await kit.call('GET', '/v1/sessions/ses-never', { key: read })).status).toBe(404);
    const inline = await start({ source: ASK_ONLY, inputs: { topic: 'dogs' } });
    expect(inline.workflow).toEqual({ name: 'ask-only', version: null });
    const again = await kit.call('POST', '/v1/sessions', {
      key: run,
      body: { workflow: 'ask-only', inputs: { topic: 'x' }, sessionId: inline.sessionId },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'SESSION_EXISTS' } });
  });

  it('pauses, resumes and cancels a running session, each request audited', async () => {
    await start({ workflow: 'ask-only', inputs: { topic: 'birds' }, sessionId: 'ses-steered' });
    await waitForQuestion('ses-steered', 'ask');
    const paused = await kit.call('POST', '/v1/sessions/ses-steered/pause', {
      key: run,
      body: { reason: 'lunch' },
    });
    expect(paused.status).toBe(202);
    expect(sessions.pauseSession.response.parse(paused.body)).toMatchObject({ action: 'pause', applied: 'now' });
    await waitFor(async () => (await show('ses-steered')).status === 'paused', 'the pause');
    const resumed = await kit.call('POST', '/v1/sessions/ses-steered/resume', { key: run });
    expect(sessions.resumeSession.response.parse(resumed.body)).toMatchObject({ mode: 'requested' });
    await waitFor(async () => (await show('ses-steered')).status === 'awaiting_input', 'the resume');
    // Cancel without a body at all.
    const cancelled = await kit.call('POST', '/v1/sessions/ses-steered/cancel', { key: run });
    expect(cancelled.status).toBe(202);
    await waitFor(async () => (await show('ses-steered')).status === 'cancelled', 'the cancel');
    const again = await kit.call('POST', '/v1/sessions/ses-steered/cancel', { key: run });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'WORKFLOW_NOT_RUNNING' } });
    const requested = (await events('ses-steered')).filter((e) => e.type === 'control.requested');
    expect(requested.map((e) => [(e.data as { action: string }).action, (e.data as { by: string }).by])).toEqual([
      ['pause', `api:${runId}:runner`],
      ['resume', `api:${runId}:runner`],
      ['cancel', `api:${runId}:runner`],
    ]);
    expect((await events('ses-steered')).find((e) => e.type === 'workflow.paused')?.data).toMatchObject({
      reason: 'lunch',
      controlId: expect.any(String),
    });
  });

  it('lists sessions newest first, filtered by status and workflow, page by page', async () => {
    for (const id of ['ses-page-1', 'ses-page-2', 'ses-page-3']) {
      await start({ workflow: 'ask-only', inputs: { topic: id }, sessionId: id });
      await waitForQuestion(id, 'ask');
    }
    const all = sessions.listSessions.response.parse(
      (await kit.call('GET', '/v1/sessions?limit=2', { key: read })).body,
    );
    expect(all.sessions.map((s) => s.sessionId)).toEqual(['ses-page-3', 'ses-page-2']);
    expect(all.sessions[0]).toMatchObject({
      workflow: 'ask-only',
      status: 'awaiting_input',
      openQuestions: 1,
      owner: { pid: process.pid },
    });
    const next = sessions.listSessions.response.parse(
      (await kit.call('GET', `/v1/sessions?limit=2&cursor=${all.nextCursor}`, { key: read })).body,
    );
    expect(next.sessions.map((s) => s.sessionId)).toEqual(['ses-page-1', 'ses-steered']);
    const cancelled = sessions.listSessions.response.parse(
      (await kit.call('GET', '/v1/sessions?status=cancelled', { key: read })).body,
    );
    expect(cancelled.sessions.map((s) => s.sessionId)).toEqual(['ses-steered']);
    expect(cancelled.nextCursor).toBeNull();
    const none = await kit.call('GET', '/v1/sessions?workflow=other', { key: read });
    expect(none.body).toEqual({ sessions: [], nextCursor: null });
    const badStatus = await kit.call('GET', '/v1/sessions?status=sleeping', { key: read });
    expect(badStatus.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.status' } } });

    // Questions open across sessions.
    const open = questions.listQuestions.response.parse((await kit.call('GET', '/v1/questions', { key: read })).body);
    expect(open.questions.map((q) => q.sessionId)).toEqual(
      expect.arrayContaining(['ses-page-1', 'ses-page-2', 'ses-page-3']),
    );
  });

  it('serves statistics and alerts over the sessions', async () => {
    const stats = await kit.call('GET', '/v1/statistics?by=workflow', { key: read });
    expect(stats.status).toBe(200);
    expect(monitoring.getStatistics.response.parse(stats.body)).toMatchObject({ by: 'workflow', rows: [] });
    const alerts = await kit.call('GET', '/v1/alerts', { key: read });
    expect(monitoring.listAlerts.response.parse(alerts.body)).toMatchObject({ alerts: [] });
    const agents = await kit.call('GET', '/v1/sessions/ses-answered/agents', { key: read });
    expect(agents.body).toEqual({ agents: [] });
    const noAgent = await kit.call('GET', '/v1/sessions/ses-answered/agents/agt_nobody/transcript', { key: read });
    expect(noAgent.status).toBe(404);
    expect(noAgent.body).toMatchObject({ error: { code: 'AGENT_NOT_FOUND' } });
  });
});

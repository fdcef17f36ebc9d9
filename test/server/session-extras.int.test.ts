import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { sessions } from '../../src/server/contract/index.ts';
import { REPO_ROOT, waitFor } from '../support/cli-kit.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// A run with real agents (Claude Code on the scripted model) read back through the API: its
// budgets with what is left, its row's tokens and duration, the list's search, the files its
// agent wrote between two versions, and the key named in the audit of versions, forks and imports.

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'cli');

describe('a session read back through the API', () => {
  let kit: ServerKit;
  let key: string;
  let keyBy: string;
  let source: string;

  const events = async (sessionId: string) => {
    const out: AnyEvent[] = [];
    for await (const event of kit.orchestrator.log.readAll(sessionId)) out.push(event);
    return out;
  };
  const show = async (sessionId: string) =>
    sessions.showSession.response.parse((await kit.call('GET', `/v1/sessions/${sessionId}`, { key })).body);
  const list = async (query: string) => {
    const answer = await kit.call('GET', `/v1/sessions?${query}`, { key });
    expect(answer.status, answer.text).toBe(200);
    return sessions.listSessions.response.parse(answer.body);
  };

  beforeAll(async () => {
    kit = await startServerKit({
      scenario: path.join(FIXTURES, 'ask-colour.scenario.yaml'),
      config: { budgetSessionUsd: 5 },
    });
    key = await kit.key('read,run,approve', 'painter-bot');
    keyBy = `api:${key.split('_')[1]}:painter-bot`;
    // The fixture, with limits on the workflow, an agent type and the first node.
    source = (await readFile(path.join(FIXTURES, 'ask-colour.yaml'), 'utf8'))
      .replace('nodes:\n', 'budget:\n  workflow: 4\n  agentTypes: { painter: 3 }\nnodes:\n')
      .replace(
        '    task: "Get the brushes ready."',
        '    task: "Get the brushes ready."\n    budget: { usd: 1, tokens: 900000 }',
      );
    expect(source).toContain('tokens: 900000');
  });
  afterAll(() => kit?.close());

  it('serves budgets, tokens, duration, search, file diffs and who did what', { timeout: 240_000 }, async () => {
    const started = await kit.call('POST', '/v1/sessions', { key, body: { source, sessionId: 'ses-wall-7' } });
    expect(started.status, started.text).toBe(201);
    const question = await waitFor(
      async () =>
        (
          await kit.call<{ questions: Array<{ requestId: string }> }>('GET', '/v1/sessions/ses-wall-7/questions', {
            key,
          })
        ).body.questions?.[0],
      'the question',
      { timeoutMs: 150_000 },
    );
    const before = sessions.takeVersion.response.parse(
      (await kit.call('POST', '/v1/sessions/ses-wall-7/versions', { key, body: { label: 'asked' } })).body,
    );
    await kit.call('POST', `/v1/sessions/ses-wall-7/questions/${question.requestId}/answer`, {
      key,
      body: { value: 'blue' },
    });
    await waitFor(async () => (await show('ses-wall-7')).status === 'completed', 'the run to complete', {
      timeoutMs: 150_000,
    });
    const after = sessions.takeVersion.response.parse(
      (await kit.call('POST', '/v1/sessions/ses-wall-7/versions', { key })).body,
    );

    // Budgets: each limit in force, what was spent against it, what is left.
    const view = await show('ses-wall-7');
    const spent = view.report.metrics.session.costUsd;
    expect(spent).toBeGreaterThan(0);
    const byKey = Object.fromEntries(view.budgets.map((b) => [`${b.scope}:${b.key}`, b]));
    const workflowId = view.workflows[0]?.workflowId as string;
    expect(byKey['session:ses-wall-7']).toMatchObject({ limitUsd: 5, reached: false });
    expect(byKey['session:ses-wall-7']?.leftUsd).toBeCloseTo(5 - spent, 5);
    expect(byKey[`workflow:${workflowId}`]).toMatchObject({ limitUsd: 4, workflowId, reached: false });
    expect(byKey['agentType:painter']).toMatchObject({ limitUsd: 3, reached: false });
    expect(byKey['agentType:painter']?.spentUsd).toBeCloseTo(view.report.metrics.agentTypes.painter?.costUsd ?? -1, 5);
    const node = byKey[`node:${workflowId}/prepare`];
    const prepare = view.report.metrics.workflows[workflowId]?.nodes.prepare;
    const prepareTokens =
      (prepare?.inputTokens ?? 0) +
      (prepare?.outputTokens ?? 0) +
      (prepare?.cacheReadTokens ?? 0) +
      (prepare?.cacheCreationTokens ?? 0);
    expect(prepareTokens).toBeGreaterThan(0);
    expect(node).toMatchObject({ nodeId: 'prepare', limitUsd: 1, limitTokens: 900000, spentTokens: prepareTokens });
    expect(node?.leftTokens).toBe(900000 - prepareTokens);
    // `paint` has no budget of its own: no line.
    expect(byKey[`node:${workflowId}/paint`]).toBeUndefined();

    // The list's row carries tokens and duration; `q` finds it by id or workflow name.
    const row = (await list('limit=10')).sessions.find((r) => r.sessionId === 'ses-wall-7');
    expect(row?.tokens).toBe(view.report.metrics.session.inputTokens + view.report.metrics.session.outputTokens);
    expect(row?.tokens).toBeGreaterThan(0);
    expect(row?.durationMs).toBe(view.report.activeMs);
    expect(row?.durationMs).toBeGreaterThan(0);
    await kit.call('POST', '/v1/sessions', {
      key,
      body: {
        definition: { name: 'other-flow', nodes: [{ id: 'ask', kind: 'human', prompt: 'Hi?' }] },
        sessionId: 'ses-else',
      },
    });
    expect((await list('q=WALL-7')).sessions.map((r) => r.sessionId)).toEqual(['ses-wall-7']);
    expect((await list('q=Colour')).sessions.map((r) => r.sessionId)).toEqual(['ses-wall-7']);
    expect((await list('q=other-fl')).sessions.map((r) => r.sessionId)).toEqual(['ses-else']);
    expect((await list('q=nothing-like-it')).sessions).toEqual([]);
    expect((await list('q=ses&workflow=other-flow')).sessions.map((r) => r.sessionId)).toEqual(['ses-else']);
    const tooLong = await kit.call('GET', `/v1/sessions?q=${'x'.repeat(201)}`, { key });
    expect(tooLong.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.q' } } });

    // The files the agent wrote between the two versions, with their diff.
    const files = await kit.call(
      'GET',
      `/v1/sessions/ses-wall-7/diff/files?from=${before.version}&to=${after.version}`,
      {
        key,
      },
    );
    expect(files.status, files.text).toBe(200);
    const changed = sessions.diffFiles.response.parse(files.body);
    expect(changed).toMatchObject({ recorded: true, from: before.version, to: after.version, omittedFiles: 0 });
    const colour = changed.files.find((f) => f.path === 'colour.txt');
    expect(colour).toMatchObject({ status: 'added', binary: false, added: 1, removed: 0, truncated: false });
    expect(colour?.diff).toContain('+blue');
    expect(colour?.diff).toContain('--- /dev/null');
    const backwards = sessions.diffFiles.response.parse(
      (await kit.call('GET', `/v1/sessions/ses-wall-7/diff/files?from=${after.version}&to=${before.version}`, { key }))
        .body,
    );
    expect(backwards.files.find((f) => f.path === 'colour.txt')).toMatchObject({ status: 'deleted', removed: 1 });
    const missing = await kit.call('GET', '/v1/sessions/ses-wall-7/diff/files?from=99', { key });
    expect(missing.body).toMatchObject({ error: { code: 'VERSION_NOT_FOUND' } });
    const tiny = await kit.call('GET', '/v1/sessions/ses-wall-7/diff/files?from=1&maxFileBytes=5', { key });
    expect(tiny.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.maxFileBytes' } } });

    // The audit names the key that took a version, forked and imported.
    const versioned = (await events('ses-wall-7')).filter((e) => e.type === 'session.versioned');
    expect(versioned.map((e) => (e.data as { by?: string }).by)).toEqual([keyBy, keyBy]);
    const forked = await kit.call('POST', '/v1/sessions/ses-wall-7/fork', {
      key,
      body: { version: before.version, as: 'ses-wall-fork' },
    });
    expect(forked.status, forked.text).toBe(201);
    const forkEvent = (await events('ses-wall-fork')).find((e) => e.type === 'session.forked');
    expect(forkEvent?.data).toMatchObject({ fromSessionId: 'ses-wall-7', by: keyBy });
    const exported = await fetch(`${kit.url}/v1/sessions/ses-wall-7/export`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const imported = await kit.call('POST', '/v1/sessions/import?as=ses-wall-copy', {
      key,
      raw: await exported.text(),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(imported.status, imported.text).toBe(201);
    const importEvent = (await events('ses-wall-copy')).find((e) => e.type === 'session.imported');
    expect(importEvent?.data).toMatchObject({ fromSessionId: 'ses-wall-7', by: keyBy });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions } from '../../src/server/contract/index.ts';
import { waitFor } from '../support/cli-kit.ts';
import { ASK_ONLY } from './fixtures.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// Versions, diffs, forks, export and import, and resuming a session nobody runs, over HTTP.

type Question = { requestId: string; nodeId?: string };

async function question(kit: ServerKit, key: string | undefined, sessionId: string, nodeId: string): Promise<Question> {
  return waitFor(
    async () => {
      const answer = await kit.call<{ questions: Question[] }>('GET', `/v1/sessions/${sessionId}/questions`, { key });
      return answer.body.questions?.find((q) => q.nodeId === nodeId);
    },
    `the question of ${nodeId} in ${sessionId}`,
    { timeoutMs: 20_000 },
  );
}

describe('versions, fork, export and import', () => {
  let dir: string;
  let kit: ServerKit;
  let key: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-api-versions-'));
    kit = await startServerKit({ dir });
    key = await kit.key('read,run,approve');
  });
  afterAll(async () => {
    await kit?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes, lists, shows and diffs versions, and forks one into a new session that carries on here', async () => {
    await kit.call('POST', '/v1/sessions', {
      key,
      body: { source: ASK_ONLY, inputs: { topic: 'tea' }, sessionId: 'ses-v' },
    });
    const asked = await question(kit, key, 'ses-v', 'ask');
    const taken = await kit.call('POST', '/v1/sessions/ses-v/versions', { key, body: { label: 'asked' } });
    expect(taken.status).toBe(201);
    const first = sessions.takeVersion.response.parse(taken.body);
    expect(first).toMatchObject({ sessionId: 'ses-v', label: 'asked' });
    await kit.call('POST', `/v1/sessions/ses-v/questions/${asked.requestId}/answer`, { key, body: { value: 'green' } });
    await question(kit, key, 'ses-v', 'approve');
    const second = sessions.takeVersion.response.parse(
      (await kit.call('POST', '/v1/sessions/ses-v/versions', { key })).body,
    );
    expect(second.version).toBeGreaterThan(first.version);

    const listed = sessions.listVersions.response.parse(
      (await kit.call('GET', '/v1/sessions/ses-v/versions', { key })).body,
    );
    expect(listed.versions.map((v) => v.version)).toEqual(expect.arrayContaining([first.version, second.version]));
    const one = await kit.call('GET', `/v1/sessions/ses-v/versions/${first.version}`, { key });
    const shown = sessions.showVersion.response.parse(one.body);
    expect(shown.version.label).toBe('asked');
    expect(shown.state).toMatchObject({ sessionId: 'ses-v', lastSeq: first.seq });
    expect((await kit.call('GET', '/v1/sessions/ses-v/versions/999', { key })).body).toMatchObject({
      error: { code: 'VERSION_NOT_FOUND' },
    });

    const diff = await kit.call('GET', `/v1/sessions/ses-v/diff?from=${first.version}&to=${second.version}`, { key });
    const changed = sessions.diffVersions.response.parse(diff.body);
    expect(changed.summary.nodes).toEqual(
      expect.arrayContaining([expect.objectContaining({ nodeId: 'ask', from: 'awaiting_input', to: 'completed' })]),
    );
    expect(changed.patch.length).toBeGreaterThan(0);
    const badDiff = await kit.call('GET', '/v1/sessions/ses-v/diff?from=zero', { key });
    expect(badDiff.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.from' } } });

    // A fork of the first version asks the first question again once resumed, here.
    const forked = await kit.call('POST', '/v1/sessions/ses-v/fork', {
      key,
      body: { version: first.version, as: 'ses-v-fork' },
    });
    expect(forked.status).toBe(201);
    expect(sessions.forkSession.response.parse(forked.body)).toMatchObject({
      sessionId: 'ses-v-fork',
      fromSessionId: 'ses-v',
      fromVersion: first.version,
    });
    const resumed = await kit.call('POST', '/v1/sessions/ses-v-fork/resume', { key });
    expect(sessions.resumeSession.response.parse(resumed.body)).toMatchObject({
      sessionId: 'ses-v-fork',
      mode: 'running-here',
    });
    await question(kit, key, 'ses-v-fork', 'ask');
    const both = await kit.call('POST', '/v1/sessions/ses-v/fork', { key, body: { version: 1, seq: 2 } });
    expect(both.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.seq' } } });
  });

  it('exports a session as a file and imports it as another one', async () => {
    const exported = await fetch(`${kit.url}/v1/sessions/ses-v/export`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const file = await exported.text();
    expect(file.split('\n')[0]).toContain('"format":"ai-orchestrator/session"');
    const imported = await kit.call('POST', '/v1/sessions/import?as=ses-v-copy', {
      key,
      raw: file,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(imported.status, imported.text).toBe(201);
    expect(sessions.importSession.response.parse(imported.body)).toMatchObject({ sessionId: 'ses-v-copy' });
    const copy = await kit.call('GET', '/v1/sessions/ses-v-copy', { key });
    expect(copy.body).toMatchObject({ workflow: 'ask-only' });
    const again = await kit.call('POST', '/v1/sessions/import?as=ses-v-copy', {
      key,
      raw: file,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(again.status).toBe(409);
    const garbage = await kit.call('POST', '/v1/sessions/import', {
      key,
      raw: '{"not":"an export"}\n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({
      error: { code: 'IMPORT_INVALID', message: expect.stringMatching(/^body:1:/) },
    });
    const asJson = await kit.call('POST', '/v1/sessions/import', { key, body: { events: [] } });
    expect(asJson.status).toBe(415);
  });
});

describe('resuming a session nobody runs', () => {
  it('takes it over in this server and carries on from its log', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'orch-api-resume-'));
    try {
      const first = await startServerKit({ dir });
      await first.call('POST', '/v1/sessions', {
        body: { source: ASK_ONLY, inputs: { topic: 'jam' }, sessionId: 'ses-left' },
      });
      const asked = await question(first, undefined, 'ses-left', 'ask');
      // This server stops: the session is left resumable, with its question open.
      await first.close();
      const second = await startServerKit({ dir });
      try {
        const idle = await second.call('GET', '/v1/sessions/ses-left');
        // Unfinished, and its process is gone: interrupted, and resumable.
        expect(idle.body).toMatchObject({ status: 'interrupted', resumable: true, owner: null });
        // An answer to a session nobody runs waits in its log for the next owner.
        const early = await second.call('POST', `/v1/sessions/ses-left/questions/${asked.requestId}/answer`, {
          body: { value: 'plum' },
        });
        expect(early.body).toMatchObject({ applied: 'on-resume' });
        const resumed = await second.call('POST', '/v1/sessions/ses-left/resume');
        expect(resumed.body).toMatchObject({ mode: 'running-here' });
        await question(second, undefined, 'ses-left', 'approve');
        const state = await second.call<{ workflows: Array<{ nodes: Array<{ id: string; output?: unknown }> }> }>(
          'GET',
          '/v1/sessions/ses-left',
        );
        expect(state.body.workflows[0]?.nodes.find((n) => n.id === 'ask')?.output).toBe('plum');
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoring } from '../../src/server/contract/index.ts';
import { REPO_ROOT, waitFor } from '../support/cli-kit.ts';
import { type ServerKit, startServerKit } from './kit.ts';
import { openSse, seqsOf } from './sse-client.ts';

// A workflow with real agents (Claude Code on the scripted model) run through the API: its
// question answered over HTTP, its agents' figures and transcripts served, its events followed
// live over SSE with an agent filter.

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'cli');

describe('agents of a session run through the API', () => {
  let kit: ServerKit;
  let key: string;
  beforeAll(async () => {
    kit = await startServerKit({ scenario: path.join(FIXTURES, 'ask-colour.scenario.yaml') });
    key = await kit.key('read,run,approve');
  });
  afterAll(() => kit?.close());

  it('answers the question between two agents, then serves their figures and transcripts', {
    timeout: 180_000,
  }, async () => {
    const source = await readFile(path.join(FIXTURES, 'ask-colour.yaml'), 'utf8');
    const started = await kit.call('POST', '/v1/sessions', { key, body: { source, sessionId: 'ses-paint' } });
    expect(started.status, started.text).toBe(201);
    // Opened once the session exists: it catches up from its first event, then follows it.
    const live = openSse(`${kit.url}/v1/sessions/ses-paint/events?types=agent.*,workflow.completed`, { key });
    const question = await waitFor(
      async () =>
        (
          await kit.call<{ questions: Array<{ requestId: string; nodeId?: string }> }>(
            'GET',
            '/v1/sessions/ses-paint/questions',
            { key },
          )
        ).body.questions?.[0],
      'the question',
      { timeoutMs: 120_000 },
    );
    expect(question.nodeId).toBe('ask');
    await kit.call('POST', `/v1/sessions/ses-paint/questions/${question.requestId}/answer`, {
      key,
      body: { value: 'blue' },
    });
    await waitFor(
      async () =>
        (await kit.call<{ status: string }>('GET', '/v1/sessions/ses-paint', { key })).body.status === 'completed',
      'the run to complete',
      { timeoutMs: 120_000 },
    );
    expect(await readFile(path.join(kit.dir, 'workspaces', 'ses-paint', 'colour.txt'), 'utf8')).toBe('blue\n');

    const agents = monitoring.listAgents.response.parse(
      (await kit.call('GET', '/v1/sessions/ses-paint/agents', { key })).body,
    ).agents;
    expect(agents.map((a) => [a.nodeId, a.agentType, a.outcome])).toEqual([
      ['prepare', 'painter', 'completed'],
      ['paint', 'painter', 'completed'],
    ]);
    const painter = agents[1];
    expect(painter?.sdkSessionId).toEqual(expect.any(String));
    expect(painter?.toolCallsByTool).toEqual({ Write: 1 });

    const transcript = monitoring.agentTranscript.response.parse(
      (await kit.call('GET', `/v1/sessions/ses-paint/agents/${painter?.agentId}/transcript`, { key })).body,
    );
    expect(transcript.sdkSessionId).toBe(painter?.sdkSessionId);
    expect(JSON.stringify(transcript.entries)).toContain('Paint the wall blue');

    // The live stream saw only what its filters let through, in order, up to the end.
    const stream = await live;
    await stream.until((frames) => frames.some((f) => f.event === 'workflow.completed'), 'the end of the run');
    stream.close();
    const types = new Set(stream.frames.filter((f) => f.id).map((f) => f.event));
    expect([...types].every((t) => t.startsWith('agent.') || t === 'workflow.completed')).toBe(true);
    expect(types.has('agent.spawned')).toBe(true);
    const seqs = seqsOf(stream.frames);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const byAgent = await openSse(`${kit.url}/v1/sessions/ses-paint/events?agent=${painter?.agentId}&follow=false`, {
      key,
    });
    await byAgent.ended;
    const own = byAgent.frames.filter((f) => f.id).map((f) => JSON.parse(f.data) as { data: { agentId?: string } });
    expect(own.length).toBeGreaterThan(3);
    expect(own.every((e) => e.data.agentId === painter?.agentId)).toBe(true);
  });
});

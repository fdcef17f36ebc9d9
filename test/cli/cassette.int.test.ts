import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeRecorder } from '../../src/gateway/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { openEventStore } from '../../src/store/index.ts';
import { runCli, tempDir } from '../support/cli-kit.ts';

// `orchestrator sessions cassette ID [-o FILE]` on a recording in the data directory's store:
// the file it writes is a scenario the scripted server loads; a session without one is refused.

const body = {
  model: 'claude-test',
  stream: true,
  system: [{ type: 'text', text: 'You write notes.' }],
  messages: [{ role: 'user', content: 'Write notes.txt.' }],
};
const sse = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

describe('sessions cassette', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    tmp = await tempDir('cassette');
    const store = await openEventStore({ kind: 'sqlite', path: path.join(tmp.dir, 'events.db') });
    const recorder = new ExchangeRecorder({ store });
    const raw = JSON.stringify(body);
    recorder.observe({
      request: {
        requestId: 'req-1',
        agent: { sessionId: 'ses_recorded', agentId: 'a1', agentType: 'writer' },
        path: '/v1/messages?beta=true',
        model: 'claude-test',
        stream: true,
        maxTokens: 100,
        inputTokensEstimate: 10,
        bodyDigest: createHash('sha256').update(raw).digest('hex'),
        body,
      },
      status: 200,
      contentType: 'text/event-stream; charset=utf-8',
      body: Buffer.from(sse),
    });
    await recorder.flush();
    await store.close();
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it('writes a cassette the scripted server loads', async () => {
    const file = path.join(tmp.dir, 'out.cassette.yaml');
    const result = await runCli(['sessions', 'cassette', 'ses_recorded', '-o', file], { dataDir: tmp.dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('1 exchanges in 1 conversations');
    const scenario = parseScenario(await readFile(file, 'utf8'), file);
    expect(scenario.replay).toHaveLength(1);
    expect(scenario.replay[0]?.turns.get(0)?.[0]?.body.toString()).toBe(sse);
  });

  it('refuses a session with no recording', async () => {
    const result = await runCli(['sessions', 'cassette', 'ses_nothing'], { dataDir: tmp.dir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('RECORDING_NOT_FOUND');
  });
});

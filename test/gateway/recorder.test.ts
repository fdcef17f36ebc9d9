import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildCassette,
  cassetteToYaml,
  type Exchange,
  ExchangeRecorder,
  loadRecording,
  RECORDINGS_PROJECT,
  type RecordedExchange,
  recordingKey,
  toRecordedExchange,
} from '../../src/gateway/index.ts';
import { parseScenario, ReplayState, readRequest, replayIdentity } from '../../src/model-server/index.ts';
import { Redactor } from '../../src/security/index.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from '../../src/store/index.ts';

// The recorder and cassettes on synthetic exchanges (the gateway's proxy is not needed): what
// is stored per exchange, secrets removed, one write each, order kept per session, and a
// cassette that the scripted server's replay matches back to the same responses.

const SECRET = 'test-model-key-planted-secret-0123456789';
const redactor = new Redactor([{ name: 'ANTHROPIC_API_KEY', value: SECRET }]);

type Body = Record<string, unknown>;

function messagesBody(system: string, user: string, assistantTurns: number): Body {
  const messages: Body[] = [{ role: 'user', content: user }];
  for (let i = 0; i < assistantTurns; i++) {
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `answer ${i}` }] });
    messages.push({ role: 'user', content: `more ${i}` });
  }
  return {
    model: 'claude-test',
    stream: true,
    max_tokens: 1000,
    system: [
      { type: 'text', text: 'Claude Code preamble' },
      { type: 'text', text: system },
    ],
    messages,
    metadata: { user_id: JSON.stringify({ device_id: 'd', session_id: 'sdk-1' }) },
  };
}

function sse(text: string): string {
  return `event: message_start\ndata: {"type":"message_start"}\n\nevent: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text } })}\n\n`;
}

let requests = 0;
function exchange(options: {
  session?: string;
  agent?: string;
  body: Body;
  response: string;
  status?: number;
  path?: string;
}): Exchange {
  const raw = JSON.stringify(options.body);
  requests++;
  return {
    request: {
      requestId: `req-${requests}`,
      agent: { sessionId: options.session ?? 'ses_a', agentId: options.agent ?? 'agent-1', agentType: 'writer' },
      path: options.path ?? '/v1/messages?beta=true',
      model: 'claude-test',
      stream: true,
      maxTokens: 1000,
      inputTokensEstimate: Math.ceil(raw.length / 4),
      bodyDigest: createHash('sha256').update(raw).digest('hex'),
      body: options.body,
    },
    status: options.status ?? 200,
    contentType: 'text/event-stream; charset=utf-8',
    body: Buffer.from(options.response),
  };
}

/** An in-memory transcript store that counts writes (and can fail them). */
class MemoryTranscripts implements Pick<TranscriptStore, 'appendTranscript' | 'loadTranscript'> {
  readonly entries = new Map<string, TranscriptEntry[]>();
  writes = 0;
  failNext = false;
  #key = (key: TranscriptKey) => `${key.projectKey}/${key.sessionId}/${key.subpath ?? ''}`;

  async appendTranscript(key: TranscriptKey, entries: readonly TranscriptEntry[]): Promise<void> {
    // Resolve out of order: a slow write must still land before the next one of its session.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    this.writes++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    const list = this.entries.get(this.#key(key)) ?? [];
    list.push(...structuredClone(entries));
    this.entries.set(this.#key(key), list);
  }

  async loadTranscript(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    return this.entries.get(this.#key(key)) ?? null;
  }
}

describe('toRecordedExchange', () => {
  it('keeps the identity, turn and response, with secrets removed from the body', () => {
    const body = messagesBody('You write notes.', 'Write notes.txt.', 2);
    const entry = toRecordedExchange(
      exchange({ body, response: sse(`the key is ${SECRET}`) }),
      redactor,
      new Date('2030-01-02T03:04:05Z'),
    );
    const facts = readRequest(body, undefined);
    expect(entry).toMatchObject({
      type: 'gateway_exchange',
      timestamp: '2030-01-02T03:04:05.000Z',
      agentId: 'agent-1',
      agentType: 'writer',
      path: '/v1/messages?beta=true',
      turn: 2,
      status: 200,
      systemDigest: replayIdentity(facts).system,
      userDigest: replayIdentity(facts).user,
    });
    expect(entry?.body).toContain('[REDACTED:ANTHROPIC_API_KEY]');
    expect(JSON.stringify(entry)).not.toContain(SECRET);
    expect(entry?.conversation).toContain('sdk-1');
  });

  it('skips other paths and bodies that are no Messages request', () => {
    const body = messagesBody('s', 'u', 0);
    expect(
      toRecordedExchange(exchange({ body, response: '{}', path: '/v1/messages/count_tokens' }), redactor, new Date()),
    ).toBeUndefined();
    expect(toRecordedExchange(exchange({ body: { nope: 1 }, response: '{}' }), redactor, new Date())).toBeUndefined();
  });

  it('gives the same identity to a prompt that differs only in absolute paths and dates', () => {
    const a = replayIdentity({
      systemLast: 'memory at `/tmp/run-a/x/` on 2030-01-01',
      firstUserText: 'Edit /tmp/a/f.txt',
    });
    const b = replayIdentity({
      systemLast: 'memory at `/tmp/run-b/y/` on 2031-12-31',
      firstUserText: 'Edit /tmp/b/f.txt',
    });
    expect(a).toEqual(b);
    expect(replayIdentity({ systemLast: 'You read notes.', firstUserText: '' })).not.toEqual(
      replayIdentity({ systemLast: 'You write notes.', firstUserText: '' }),
    );
  });
});

describe('ExchangeRecorder', () => {
  it('writes once per exchange, in order per session, under the session recording key', async () => {
    const store = new MemoryTranscripts();
    const recorder = new ExchangeRecorder({ store, redactor });
    for (let turn = 0; turn < 5; turn++) {
      recorder.observe(exchange({ body: messagesBody('S', 'U', turn), response: sse(`a${turn}`) }));
      recorder.observe(exchange({ session: 'ses_b', body: messagesBody('S', 'U', turn), response: sse(`b${turn}`) }));
    }
    await recorder.flush();
    expect(store.writes).toBe(10);
    expect(recorder.recorded).toBe(10);
    const a = await loadRecording(store, 'ses_a');
    expect(a.map((e) => e.turn)).toEqual([0, 1, 2, 3, 4]);
    expect(recordingKey('ses_a')).toEqual({ projectKey: RECORDINGS_PROJECT, sessionId: 'ses_a' });
    expect(RECORDINGS_PROJECT.startsWith('-')).toBe(false);
  });

  it('reports a failed write and goes on; never throws into the proxy', async () => {
    const store = new MemoryTranscripts();
    const errors: unknown[] = [];
    const recorder = new ExchangeRecorder({ store, onError: (error) => errors.push(error) });
    store.failNext = true;
    recorder.observe(exchange({ body: messagesBody('S', 'U', 0), response: sse('x') }));
    recorder.observe(exchange({ body: messagesBody('S', 'U', 1), response: sse('y') }));
    await recorder.flush();
    expect(recorder.failed).toBe(1);
    expect(recorder.recorded).toBe(1);
    expect(String(errors[0])).toContain('disk full');
  });

  it('records only the sessions it is told to', async () => {
    const store = new MemoryTranscripts();
    const recorder = new ExchangeRecorder({ store, record: (id) => id === 'ses_b' });
    recorder.observe(exchange({ body: messagesBody('S', 'U', 0), response: sse('x') }));
    recorder.observe(exchange({ session: 'ses_b', body: messagesBody('S', 'U', 0), response: sse('y') }));
    await recorder.flush();
    expect(store.writes).toBe(1);
    await expect(loadRecording(store, 'ses_a')).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
  });
});

describe('cassettes', () => {
  async function recordSession(exchanges: readonly Exchange[]): Promise<RecordedExchange[]> {
    const store = new MemoryTranscripts();
    const recorder = new ExchangeRecorder({ store, redactor });
    for (const e of exchanges) recorder.observe(e);
    await recorder.flush();
    return loadRecording(store, 'ses_a');
  }

  it('round-trips bodies byte for byte through YAML and replays them by conversation and turn', async () => {
    const writer = (turn: number) => messagesBody('You write.', 'Write it.', turn);
    const reader = (turn: number) => messagesBody('You read.', 'Read it.', turn);
    const recorded = await recordSession([
      exchange({ body: writer(0), response: sse('w0 "quoted"\ttab\n') }),
      exchange({ body: reader(0), response: sse('r0'), agent: 'agent-2' }),
      exchange({ body: writer(1), response: '{"type":"error"}', status: 529 }),
      exchange({ body: writer(1), response: sse('w1 after a retry') }),
      exchange({ body: reader(1), response: sse(`r1 ${SECRET}`), agent: 'agent-2' }),
    ]);
    const cassette = buildCassette('ses_a', recorded);
    expect(cassette.replay.map((e) => [e.conversation, e.turn, e.status])).toEqual([
      ['c1', 0, 200],
      ['c2', 0, 200],
      ['c1', 1, 529],
      ['c1', 1, 200],
      ['c2', 1, 200],
    ]);
    const text = cassetteToYaml(cassette);
    expect(text).not.toContain(SECRET);
    const scenario = parseScenario(text, 'cassette.yaml');
    const replay = new ReplayState(scenario.replay);
    const ask = (body: Body, conversation: string) => {
      const answer = replay.answer({ ...readRequest(body, conversation) });
      return answer.kind === 'exchange' ? [answer.exchange.status, answer.exchange.body.toString()] : answer.kind;
    };
    // Another run: other session ids; the reader asks first this time.
    expect(ask(reader(0), 'live-2')).toEqual([200, sse('r0')]);
    expect(ask(writer(0), 'live-1')).toEqual([200, sse('w0 "quoted"\ttab\n')]);
    expect(ask(writer(1), 'live-1')).toEqual([529, '{"type":"error"}']);
    expect(ask(writer(1), 'live-1')).toEqual([200, sse('w1 after a retry')]);
    expect(ask(reader(1), 'live-2')).toEqual([200, sse('r1 [REDACTED:ANTHROPIC_API_KEY]')]);
    expect(ask(writer(2), 'live-1')).toBe('no_turn');
    // Both recorded conversations are bound: a third with the same prompts has none.
    expect(ask(writer(0), 'live-3')).toBe('no_conversation');
  });

  it('refuses a replay entry with a malformed digest, naming the field', () => {
    expect(() =>
      parseScenario(
        'replay:\n  - { conversation: c1, system_digest: abc, user_digest: abc, turn: 0, body: "" }\n',
        'x.yaml',
      ),
    ).toThrow(/replay\[0\]\.system_digest/);
  });
});

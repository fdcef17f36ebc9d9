import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ModelServer,
  parseScenario,
  runModelServerCommand,
  startModelServer,
} from '../../src/model-server/index.ts';

// The server over plain HTTP (fetch), as any Messages API client sees it.

const SCENARIO = `
name: unit
final_text: All done.
scripts:
  - name: tools
    match: { user: '^use tools$' }
    turns:
      - content:
          - text: Let me write a rather long sentence so that it spans several text deltas.
          - tool_use: { name: Write, input: { file_path: /tmp/a.txt, content: 'a very long content string to chunk' } }
          - structured_output: { verdict: ok }
        usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 33, cache_creation_input_tokens: 44 }
      - 'Result was: {{last_tool_result}}'
  - name: flaky
    match: { user: '^flaky$' }
    turns:
      - content: [{ text: finally }]
        fault: { status: 429, retry_after: 3, times: 2, message: slow down }
      - content: [{ text: second turn }]
        fault: { status: 500, should_retry: false }
  - name: cut
    match: { user: '^cut$' }
    turns:
      - content: [{ text: whole answer }]
        fault: { cut_after_events: 3 }
  - name: slow
    match: { user: '^slow$' }
    turns:
      - content: [{ text: eventually }]
        delay_ms: 20
        chunk_delay_ms: 5
  - name: haiku
    match: { model: haiku }
    turns: [short]
  - name: saved
    match: { user: '^saved$' }
    turns:
      - content: [{ tool_use: { name: Bash, input: { command: seq 1 40000 } } }]
      - content: [{ tool_use: { name: Read, input: { file_path: '{{saved_output_path}}', limit: 5 } } }]
`;

let server: ModelServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<ModelServer> {
  server = await startModelServer({ scenario: parseScenario(SCENARIO, 'unit.yaml') });
  return server;
}

function body(user: string, extra: Record<string, unknown> = {}, messages: unknown[] = []) {
  return { model: 'claude-opus-5-5', stream: true, messages: [{ role: 'user', content: user }, ...messages], ...extra };
}

function post(srv: ModelServer, path: string, payload: unknown, headers: Record<string, string> = {}) {
  return fetch(`${srv.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-claude-code-session-id': 'conv-1', ...headers },
    body: JSON.stringify(payload),
  });
}

interface Sse {
  event: string;
  data: Record<string, unknown>;
}

/** Reads an SSE body as far as it goes; a cut stream ends with `error` set. */
async function readSse(res: Response): Promise<{ raw: string; events: Sse[]; error: unknown }> {
  let raw = '';
  let error: unknown;
  const decoder = new TextDecoder();
  try {
    for await (const part of res.body as AsyncIterable<Uint8Array>) raw += decoder.decode(part, { stream: true });
  } catch (caught) {
    error = caught;
  }
  const events = raw
    .split('\n\n')
    .filter((frame) => frame.length > 0)
    .map((frame) => {
      const [eventLine, dataLine, ...rest] = frame.split('\n');
      expect(rest).toEqual([]);
      expect(eventLine).toMatch(/^event: \w+$/);
      expect(dataLine).toMatch(/^data: \{/);
      const data = JSON.parse(dataLine?.slice(6) ?? '') as Record<string, unknown>;
      const event = eventLine?.slice(7) ?? '';
      expect(data.type).toBe(event);
      return { event, data };
    });
  return { raw, events, error };
}

describe('POST /v1/messages streaming', () => {
  it('frames a turn as Anthropic SSE, with text, tool_use and StructuredOutput blocks', async () => {
    const srv = await start();
    const res = await post(srv, '/v1/messages?beta=true', body('use tools'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const { raw, events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(raw.endsWith('\n\n')).toBe(true);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const opening = events[0]?.data.message as Record<string, unknown>;
    expect(opening).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-opus-5-5', content: [] });
    expect(opening.id).toMatch(/^msg_/);
    // Rebuild the blocks from the deltas, as a client does.
    const blocks: Record<string, unknown>[] = [];
    const json: string[] = [];
    for (const { event, data } of events) {
      const index = data.index as number;
      if (event === 'content_block_start') {
        blocks[index] = { ...(data.content_block as object) };
        json[index] = '';
      } else if (event === 'content_block_delta') {
        const delta = data.delta as Record<string, string>;
        const block = blocks[index] as Record<string, unknown>;
        if (delta.type === 'text_delta') block.text = `${block.text as string}${delta.text}`;
        else json[index] += delta.partial_json ?? '';
      } else if (event === 'content_block_stop' && json[index] !== '') {
        (blocks[index] as Record<string, unknown>).input = JSON.parse(json[index] ?? '');
      }
    }
    expect(events.filter((e) => e.event === 'content_block_delta').length).toBeGreaterThan(4);
    expect(blocks).toEqual([
      { type: 'text', text: 'Let me write a rather long sentence so that it spans several text deltas.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_/),
        name: 'Write',
        input: { file_path: '/tmp/a.txt', content: 'a very long content string to chunk' },
      },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'StructuredOutput', input: { verdict: 'ok' } },
    ]);
    expect(events.at(-2)?.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 11, output_tokens: 22, cache_read_input_tokens: 33, cache_creation_input_tokens: 44 },
    });
  });

  it("fills a tool input's saved-output placeholder from Claude Code's note in the last tool result", async () => {
    const srv = await start();
    const assistant = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} }] };
    const note =
      'Output too large (223.5KB). Full output saved to: /data/claude/projects/-ws/s/tool-results/b1.txt\n\nPreview';
    const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: note }] };
    const answer = await post(srv, '/v1/messages', body('saved', { stream: false }, [assistant, result]));
    expect(await answer.json()).toMatchObject({
      content: [
        {
          type: 'tool_use',
          name: 'Read',
          input: { file_path: '/data/claude/projects/-ws/s/tool-results/b1.txt', limit: 5 },
        },
      ],
    });
  });

  it('picks the turn by prior assistant messages, echoes the last tool result, then answers the final text', async () => {
    const srv = await start();
    const assistant = { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: {} }] };
    const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'file made' }] };
    const systemNote = { role: 'system', content: 'environment' };
    const second = await post(
      srv,
      '/v1/messages',
      body('use tools', { stream: false }, [systemNote, assistant, result]),
    );
    expect(await second.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Result was: file made' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    const third = await post(
      srv,
      '/v1/messages',
      body('use tools', { stream: false }, [assistant, result, { role: 'assistant', content: 'x' }, result]),
    );
    expect(await third.json()).toMatchObject({
      content: [{ type: 'text', text: 'All done.' }],
      stop_reason: 'end_turn',
    });
    expect(srv.requests.map((r) => [r.script, r.turn, r.answer])).toEqual([
      ['tools', 1, 'turn'],
      ['tools', 2, 'final'],
    ]);
  });

  it('gives the same tool ids to a retried request, and different ones to another conversation', async () => {
    const srv = await start();
    const ids = async (conversation: string) => {
      const res = await post(srv, '/v1/messages', body('use tools', { stream: false }), {
        'x-claude-code-session-id': conversation,
      });
      const message = (await res.json()) as { content: { id?: string }[] };
      return message.content.map((block) => block.id);
    };
    const first = await ids('a');
    expect(await ids('a')).toEqual(first);
    expect(await ids('b')).not.toEqual(first);
  });

  it('answers an unmatched request with the final text and records it', async () => {
    const srv = await start();
    const res = await post(srv, '/v1/messages', body('something else', { stream: false }));
    expect(await res.json()).toMatchObject({ content: [{ type: 'text', text: 'All done.' }] });
    expect(srv.requests[0]).toMatchObject({ answer: 'unmatched', script: undefined, turn: 0 });
    const haiku = await post(srv, '/v1/messages', { ...body('x', { stream: false }), model: 'claude-haiku-5' });
    expect(await haiku.json()).toMatchObject({ model: 'claude-haiku-5', content: [{ text: 'short' }] });
  });

  it('answers a turn with delay_ms and chunk_delay_ms in full', async () => {
    const srv = await start();
    const { events } = await readSse(await post(srv, '/v1/messages', body('slow')));
    expect(events.map((e) => e.event)).toContain('message_stop');
  });
});

describe('faults', () => {
  it('fails the first N attempts of a turn with the status, headers and error shape, then answers', async () => {
    const srv = await start();
    for (const attempt of [1, 2]) {
      const res = await post(srv, '/v1/messages', body('flaky'));
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(await res.json()).toEqual({
        type: 'error',
        error: { type: 'rate_limit_error', message: 'slow down' },
        request_id: expect.stringMatching(/^req_/),
      });
      expect(srv.requests.at(-1)).toMatchObject({ attempt, answer: 'fault', fault: 'status 429' });
    }
    // Another conversation has its own count.
    expect((await post(srv, '/v1/messages', body('flaky'), { 'x-claude-code-session-id': 'conv-2' })).status).toBe(429);
    const third = await post(srv, '/v1/messages', body('flaky', { stream: false }));
    expect(third.status).toBe(200);
    expect(await third.json()).toMatchObject({ content: [{ text: 'finally' }] });
    const next = await post(srv, '/v1/messages', body('flaky', {}, [{ role: 'assistant', content: 'finally' }]));
    expect(next.status).toBe(500);
    expect(next.headers.get('x-should-retry')).toBe('false');
    expect(await next.json()).toMatchObject({ error: { type: 'api_error' } });
  });

  it('cuts the stream after K events, then answers the retry in full', async () => {
    const srv = await start();
    const cut = await readSse(await post(srv, '/v1/messages', body('cut')));
    expect(cut.error).toBeDefined();
    expect(cut.events.map((e) => e.event)).toEqual(['message_start', 'ping', 'content_block_start']);
    const retry = await readSse(await post(srv, '/v1/messages', body('cut')));
    expect(retry.error).toBeUndefined();
    expect(retry.events.at(-1)?.event).toBe('message_stop');
    expect(srv.requests.map((r) => [r.attempt, r.answer, r.fault])).toEqual([
      [1, 'fault', 'cut_after_events 3'],
      [2, 'turn', undefined],
    ]);
  });

  it('forgets attempt counts when the scenario is replaced', async () => {
    const srv = await start();
    expect((await post(srv, '/v1/messages', body('flaky'))).status).toBe(429);
    await srv.setScenario(parseScenario(SCENARIO));
    expect((await post(srv, '/v1/messages', body('flaky'))).status).toBe(429);
    expect((await post(srv, '/v1/messages', body('flaky'))).status).toBe(429);
    expect((await post(srv, '/v1/messages', body('flaky'))).status).toBe(200);
  });
});

describe('other endpoints', () => {
  it('estimates tokens on count_tokens', async () => {
    const srv = await start();
    const small = (await (await post(srv, '/v1/messages/count_tokens?beta=true', body('hi'))).json()) as {
      input_tokens: number;
    };
    const large = (await (await post(srv, '/v1/messages/count_tokens', body('hi '.repeat(400)))).json()) as {
      input_tokens: number;
    };
    expect(small.input_tokens).toBeGreaterThan(0);
    expect(large.input_tokens).toBeGreaterThan(small.input_tokens + 250);
    expect(srv.requests.map((r) => r.answer)).toEqual(['count_tokens', 'count_tokens']);
  });

  it('answers 404 in the API error shape for anything else, and 400 for a bad body', async () => {
    const srv = await start();
    const get = await fetch(`${srv.url}/v1/models`);
    expect(get.status).toBe(404);
    expect(await get.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const head = await fetch(`${srv.url}/api/hello`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const bad = await fetch(`${srv.url}/v1/messages`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const noModel = await post(srv, '/v1/messages', { messages: [] });
    expect(await noModel.json()).toMatchObject({ error: { message: 'model: expected a string' } });
    expect(srv.requests.map((r) => [r.method, r.path, r.answer])).toEqual([
      ['GET', '/v1/models', 'not_found'],
      ['HEAD', '/api/hello', 'not_found'],
      ['POST', '/v1/messages', 'bad_request'],
      ['POST', '/v1/messages', 'bad_request'],
    ]);
  });
});

describe('lifecycle', () => {
  it('closes idempotently and refuses connections afterwards', async () => {
    const srv = await start();
    await Promise.all([srv.close(), srv.close()]);
    await srv.close();
    await expect(fetch(`${srv.url}/v1/models`)).rejects.toThrow();
  });

  it('fails with MODEL_SERVER_START_FAILED when the port is taken', async () => {
    const srv = await start();
    await expect(startModelServer({ scenario: srv.scenario, port: srv.port, host: srv.host })).rejects.toMatchObject({
      code: 'MODEL_SERVER_START_FAILED',
    });
  });

  it('runModelServerCommand prints its URL, serves, and stops on the signal', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = runModelServerCommand({
      scenario: new URL('../../examples/scenarios/hello.yaml', import.meta.url).pathname,
      signal: stop.signal,
      print: (line) => lines.push(line),
      logger: { info() {}, warn() {} },
    });
    await expect.poll(() => lines.length).toBe(1);
    const url = /^scripted model server listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0] ?? '')?.[1];
    expect(url).toBeDefined();
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(await res.json()).toMatchObject({ content: [{ text: 'Hello! I am the scripted model.' }] });
    stop.abort();
    await done;
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow();
  });

  it('runModelServerCommand stays up in its own process until SIGTERM, then exits cleanly', async () => {
    const entry = new URL('../../src/model-server/index.ts', import.meta.url).pathname;
    const scenario = new URL('../../examples/scenarios/hello.yaml', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { runModelServerCommand } from ${JSON.stringify(entry)};
         await runModelServerCommand({ scenario: ${JSON.stringify(scenario)} });`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await expect.poll(() => stdout, { timeout: 10_000 }).toMatch(/listening on http/);
    const url = /listening on (\S+)/.exec(stdout)?.[1];
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'please make hello.txt' }] }),
    });
    expect(await res.json()).toMatchObject({ content: [{ text: 'I will create hello.txt.' }, { name: 'Write' }] });
    child.kill('SIGTERM');
    const [code, signal] = await once(child, 'exit');
    expect([code, signal]).toEqual([0, null]);
  });
});

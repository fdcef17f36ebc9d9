import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/events/index.ts';
import { type Gateway, startGateway } from '../../src/gateway/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';

// Rate limits shared by all agents, over plain HTTP: configured limits space requests out in
// a queue fair across sessions (none fails), an agent that leaves the queue takes nothing,
// and limits learned from the upstream's `anthropic-ratelimit-*` headers slow traffic down.

const logged: { sessionId: string; event: NewEvent }[] = [];
const log = {
  append: async (sessionId: string, batch: readonly NewEvent[]) =>
    void logged.push(...batch.map((event) => ({ sessionId, event }))),
};

async function send(url: string, token: string, prompt: string, signal?: AbortSignal) {
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': token, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      stream: false,
      messages: [{ role: 'user', content: prompt }],
    }),
    ...(signal && { signal }),
  });
  await response.text();
  return response.status;
}

const requestEvents = () => logged.filter(({ event }) => event.type === 'model.request');

describe('configured limits (scripted model server, 60 RPM)', () => {
  let server: ModelServer;
  let gateway: Gateway;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    server = await startModelServer({
      scenario: parseScenario(
        `
name: rate
scripts:
  - name: any
    match: { user: '^Hi' }
    turns: [{ content: [{ text: Hello. }], usage: { input_tokens: 5, output_tokens: 2 } }]
`,
        'rate.yaml',
      ),
    });
    gateway = await startGateway({ upstream: server.url, apiKey: 'real', log, rateLimits: { requests: 60 } });
    for (const session of ['A', 'B']) {
      tokens[session] = gateway.mint({ sessionId: `ses_${session}`, agentId: `agt_${session}`, agentType: 't' }).token;
    }
  });

  afterAll(async () => {
    await gateway?.close();
    await server?.close();
  });

  it('forwards 5 requests from two sessions spaced out, none failing, the sessions interleaved', async () => {
    logged.length = 0;
    const statuses = await Promise.all(
      ['A', 'A', 'A', 'B', 'B'].map((session) => send(gateway.url, tokens[session] as string, `Hi from ${session}`)),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const requests = requestEvents()
      .map(({ sessionId, event }) => ({ sessionId, queuedMs: Number(event.data.queuedMs) }))
      .sort((a, b) => a.queuedMs - b.queuedMs);
    expect(requests).toHaveLength(5);
    // One a second: the i-th waited about i seconds, each well after the one before it. Bounds
    // with room for load: a request that reached the gateway late waited that much less, and a
    // release the event loop held up shortens the next gap (the bucket refills on the clock).
    for (let i = 1; i < requests.length; i++) {
      expect(requests[i]?.queuedMs ?? 0).toBeGreaterThan(i * 1000 - 250);
      expect((requests[i]?.queuedMs ?? 0) - (requests[i - 1]?.queuedMs ?? 0)).toBeGreaterThan(500);
    }
    // Round-robin: B's two requests are not behind all three of A's.
    const order = requests.map((r) => r.sessionId);
    for (let i = 1; i < 4; i++) expect(order[i]).not.toBe(order[i - 1]);
  }, 15_000);

  it('serves waiting requests by priority, whatever their arrival order', async () => {
    logged.length = 0;
    const minted = (session: string, priority: number) =>
      gateway.mint({ sessionId: `ses_${session}`, agentId: `agt_${session}`, agentType: 't', priority }).token;
    const waiting = [
      ['low1', -1],
      ['normal', 0],
      ['low2', -1],
      ['high', 1],
    ] as const;
    const blocker = send(gateway.url, minted('first', 0), 'Hi first'); // empties the bucket
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statuses = await Promise.all([
      blocker,
      ...waiting.map(([session, priority]) => send(gateway.url, minted(session, priority), `Hi from ${session}`)),
    ]);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const served = requestEvents()
      .filter(({ sessionId }) => sessionId !== 'ses_first')
      .sort((a, b) => Number(a.event.data.queuedMs) - Number(b.event.data.queuedMs))
      .map(({ sessionId, event }) => `${sessionId}:${event.data.priority ?? 0}`);
    expect(served.slice(0, 2)).toEqual(['ses_high:1', 'ses_normal:0']);
    expect(served.slice(2).sort()).toEqual(['ses_low1:-1', 'ses_low2:-1']);
  }, 15_000);

  it('drops a waiting request whose agent went away, recording how long it waited', async () => {
    logged.length = 0;
    const leaving = new AbortController();
    setTimeout(() => leaving.abort(), 300);
    await expect(send(gateway.url, tokens.A as string, 'Hi, leaving', leaving.signal)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gateway.stats.queued).toBe(0);
    expect(logged.at(-1)?.event).toMatchObject({
      type: 'model.request',
      data: { status: 0, ok: false, fault: 'client_closed', error: { code: 'AGENT_INTERRUPTED' } },
    });
    expect(Number(logged.at(-1)?.event.data.queuedMs)).toBeGreaterThan(200);
  });
});

describe('learned limits (a fake upstream that reports its limits)', () => {
  let upstream: Server;
  let gateway: Gateway;
  let token: string;
  const arrivals: number[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        arrivals.push(performance.now());
        const body = JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-haiku-4-5',
          content: [{ type: 'text', text: 'ok' }],
          stop_reason: 'end_turn',
          usage: { input_tokens: 5, output_tokens: 2 },
        });
        res.writeHead(200, {
          'content-type': 'application/json',
          'anthropic-ratelimit-requests-limit': '60',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000).toISOString(),
        });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    gateway = await startGateway({ upstream: `http://127.0.0.1:${port}`, apiKey: 'real', log });
    token = gateway.mint({ sessionId: 'ses_L', agentId: 'agt_L', agentType: 't' }).token;
  });

  afterAll(async () => {
    await gateway?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('slows traffic down once the upstream said nothing remains', async () => {
    // Nothing configured: the first request goes at once and teaches the limit.
    expect(await send(gateway.url, token, 'Hi 1')).toBe(200);
    const statuses = await Promise.all([send(gateway.url, token, 'Hi 2'), send(gateway.url, token, 'Hi 3')]);
    expect(statuses).toEqual([200, 200]);
    expect(arrivals).toHaveLength(3);
    expect((arrivals[1] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(850);
    expect((arrivals[2] ?? 0) - (arrivals[1] ?? 0)).toBeGreaterThan(850);
  }, 10_000);
});

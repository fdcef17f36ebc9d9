import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import type { NewEvent } from '../../src/events/index.ts';
import {
  type Exchange,
  type Gateway,
  type GatewayRequest,
  type RequestEnd,
  startGateway,
} from '../../src/gateway/index.ts';
import { type ModelServer, parseScenario, startModelServer } from '../../src/model-server/index.ts';

// The hooks' contract, over plain HTTP against the scripted model server: `admit` before
// forwarding (a refusal is an error Claude Code does not retry), `settle` exactly once per
// admitted request, `observe` once per complete exchange.

let server: ModelServer;
let gateway: Gateway;
let token: string;
const events: NewEvent[] = [];
const settled: { request: GatewayRequest; end: RequestEnd }[] = [];
const observed: Exchange[] = [];

beforeAll(async () => {
  server = await startModelServer({
    scenario: parseScenario(
      `
name: hooks
scripts:
  - name: ok
    match: { user: '^Fine$' }
    turns: [{ content: [{ text: Fine. }], usage: { input_tokens: 5, output_tokens: 2 } }]
  - name: cut
    match: { user: '^Cut$' }
    turns: [{ content: [{ text: 'Cut in the middle of a long enough answer.' }], fault: { cut_after_events: 3, times: always } }]
`,
      'hooks.yaml',
    ),
  });
  gateway = await startGateway({
    upstream: server.url,
    apiKey: 'real',
    log: { append: async (_s, batch) => void events.push(...batch) },
    hooks: [
      {
        admit: (request) =>
          request.body.metadata
            ? { ok: false, error: new OrchestratorError('BUDGET_EXHAUSTED', 'the session budget is spent') }
            : { ok: true, maxTokens: 64 },
        settle: (request, end) => void settled.push({ request, end }),
        observe: (exchange) => void observed.push(exchange),
      },
    ],
  });
  token = gateway.mint({ sessionId: 'ses_hooks', agentId: 'agt_hooks', agentType: 't' }).token;
});

afterAll(async () => {
  await gateway?.close();
  await server?.close();
});

async function send(prompt: string, extra: Record<string, unknown> = {}, key = token) {
  const response = await fetch(`${gateway.url}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-haiku-4-5',
      max_tokens: 4096,
      stream: true,
      messages: [{ role: 'user', content: prompt }],
      ...extra,
    }),
  });
  const text = await response.text().catch(() => 'cut');
  return { response, text };
}

describe('gateway hooks', () => {
  it('admits with a lower max_tokens, settles once and observes the exchange', async () => {
    const { response, text } = await send('Fine');
    expect(response.status).toBe(200);
    expect(text).toContain('message_stop');
    expect(settled).toHaveLength(1);
    expect(settled[0]?.end).toMatchObject({ status: 200, ok: true, usage: { inputTokens: 5, outputTokens: 2 } });
    expect(observed).toHaveLength(1);
    expect(observed[0]?.body.toString()).toBe(text);
    // The request as Claude Code sent it; what went upstream had the admitted max_tokens.
    expect(observed[0]?.request.maxTokens).toBe(4096);
  });

  it('answers a refusal with an error Claude Code does not retry, and records it', async () => {
    const before = settled.length;
    const { response, text } = await send('Fine', { metadata: { user_id: 'x' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(text)).toMatchObject({
      type: 'error',
      error: { message: expect.stringContaining('BUDGET_EXHAUSTED') },
    });
    expect(settled.length).toBe(before);
    expect(events.at(-1)).toMatchObject({
      type: 'model.request',
      data: { ok: false, error: { code: 'BUDGET_EXHAUSTED' } },
    });
  });

  it('settles a cut stream once, without observing it', async () => {
    const before = { settled: settled.length, observed: observed.length };
    await send('Cut');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled.length).toBe(before.settled + 1);
    expect(settled.at(-1)?.end).toMatchObject({ ok: false, error: expect.objectContaining({ code: 'AGENT_NETWORK' }) });
    expect(observed.length).toBe(before.observed);
  });
});

describe('spare tokens', () => {
  const claimer = { sessionId: 'ses_claim', agentId: 'agt_claimer', agentType: 't', nodeId: 'n1' };

  it('refuses a spare token no agent has taken (401, not retried), and does not forward it', async () => {
    const spare = gateway.mintSpare();
    const before = { tries: gateway.stats.upstreamTries, settled: settled.length, events: events.length };
    const { response, text } = await send('Fine', {}, spare.token);
    expect(response.status).toBe(401);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(text)).toMatchObject({
      error: { type: 'authentication_error', message: expect.stringMatching(/spare/) },
    });
    expect(gateway.stats.upstreamTries).toBe(before.tries);
    expect(settled.length).toBe(before.settled);
    expect(events.length).toBe(before.events);
    spare.release();
  });

  it("serves a bound spare token as the claiming agent's, once, until it is released", async () => {
    const spare = gateway.mintSpare();
    gateway.bind(spare.token, claimer);
    const { response } = await send('Fine', {}, spare.token);
    expect(response.status).toBe(200);
    expect(settled.at(-1)?.request.agent).toEqual(claimer);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events.at(-1)).toMatchObject({
      type: 'model.request',
      data: { agentId: 'agt_claimer', ok: true },
    });
    // A spare is taken once; an agent's own token is not a spare's.
    expect(() => gateway.bind(spare.token, { ...claimer, agentId: 'agt_other' })).toThrow(/unbound spare/);
    expect(() => gateway.bind(token, claimer)).toThrow(/unbound spare/);
    spare.release();
    expect((await send('Fine', {}, spare.token)).response.status).toBe(401);
    expect(() => gateway.bind(spare.token, claimer)).toThrow(/released/);
  });
});

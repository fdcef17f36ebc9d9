import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentSpec } from '../../src/agents/index.ts';
import { type Gateway, startGateway } from '../../src/gateway/index.ts';
import { replayMetrics } from '../../src/monitor/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// Real Claude Code agents talk to the scripted model server through the gateway: the key
// never reaches them, usage comes off the wire, retries and faults are decided in one place.

const PLANTED_KEY = 'test-model-key-PLANTED-real-key-never-in-an-agent-0123456789';

const scenario = `
name: gateway
scripts:
  - name: env
    match: { user: '^Print the environment$' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: env, description: Print the environment } }
      - 'ENV: {{last_tool_result}}'
  - name: counted
    match: { user: '^Count me (one|two)$' }
    turns:
      - content: [{ text: Counted. }]
        usage: { input_tokens: 120, output_tokens: 7, cache_read_input_tokens: 30, cache_creation_input_tokens: 11 }
  - name: storm
    match: { user: '^Storm [0-9]$' }
    turns:
      - content: []
        fault: { status: 429, retry_after: 0.05, times: always }
  - name: cut-early
    match: { user: '^Cut before a byte$' }
    turns:
      - content: [{ text: Survived the cut. }]
        fault: { cut_after_events: 0, times: 1 }
  - name: cut-late
    match: { user: '^Cut midway$' }
    turns:
      - content: [{ text: This answer is long enough to be cut in the middle of its stream. }]
        fault: { cut_after_events: 3, times: always }
  - name: stalled
    match: { user: '^Stall$' }
    turns:
      - content: [{ text: Too late. }]
        delay_ms: 3000
  - name: delegator
    match: { user: '^Delegate the work$' }
    turns:
      - content:
          - tool_use: { name: Agent, input: { subagent_type: helper, description: Do the work, prompt: Say done } }
      - Delegated.
  - name: helper
    match: { system: 'You are the helper subagent' }
    turns:
      - content: [{ text: Helper done. }]
        usage: { input_tokens: 50, output_tokens: 5 }
`;

const MAX_RETRIES = 2;
let kit: AgentKit;
let gateway: Gateway;
let runtime: AgentRuntime;
const tokens = new Map<string, string>();

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
  gateway = await startGateway({
    upstream: kit.server.url,
    apiKey: PLANTED_KEY,
    log: kit.log,
    maxRetries: MAX_RETRIES,
    retryBaseDelayMs: 20,
    firstByteTimeoutMs: 1000,
    idleTimeoutMs: 1000,
  });
  runtime = kit.runtime({
    maxConcurrent: 4,
    credentials: (agent) => {
      const minted = gateway.mint(agent);
      tokens.set(agent.agentId, minted.token);
      return { apiKey: minted.token, baseUrl: gateway.url, release: minted.release };
    },
  });
});

afterAll(async () => {
  await kit?.cleanup();
  await gateway?.close();
});

async function run(prompt: string, spec: AgentSpec = testSpec()) {
  const sessionId = kit.session();
  const cwd = await kit.workspace(`gw-${kit.session()}`);
  const result = await runtime.spawn({ sessionId, spec, prompt, cwd }).result;
  return { sessionId, result, events: await kit.events(sessionId) };
}

describe('the model gateway with real agents', () => {
  it('keeps the model key out of an agent: `env` shows only its own token', async () => {
    const { result, events } = await run('Print the environment', testSpec({ tools: ['Bash'] }));
    expect(result.ok).toBe(true);
    const text = result.ok ? String(result.text) : '';
    const token = tokens.get(result.agentId) ?? 'none';
    expect(text).toContain(`ANTHROPIC_API_KEY=${token}`);
    expect(token).toMatch(/^orch-agt-[A-Za-z0-9_-]{43}$/);
    expect(text).toContain(`ANTHROPIC_BASE_URL=${gateway.url}`);
    expect(text).toContain('CLAUDE_CODE_MAX_RETRIES=0');
    expect(text).not.toContain(PLANTED_KEY);
    expect(JSON.stringify(events)).not.toContain(PLANTED_KEY);
    expect(dataOf(events, 'model.request')).toHaveLength(2);
  });

  it('records usage equal to what the model server sent, and counts spend from it', async () => {
    const { result, events, sessionId } = await run('Count me one');
    expect(result.ok).toBe(true);
    const requests = dataOf(events, 'model.request');
    expect(requests).toEqual([
      expect.objectContaining({
        agentId: result.agentId,
        status: 200,
        ok: true,
        inputTokens: 120,
        outputTokens: 7,
        cacheReadTokens: 30,
        cacheCreationTokens: 11,
        attempt: 1,
      }),
    ]);
    const cost = requests[0]?.costUsd as number;
    expect(cost).toBeGreaterThan(0);
    expect(requests[0]?.firstByteMs).toBeGreaterThanOrEqual(0);
    const metrics = replayMetrics(sessionId, events);
    expect(metrics.session.costUsd).toBeCloseTo(cost, 10);
    expect(metrics.session.inputTokens).toBe(120);
    expect(metrics.session.sdkCostUsd).toBeGreaterThan(0);
  });

  it('attributes requests per agent with two agents in parallel, and refuses an ended agent`s token', async () => {
    const [one, two] = await Promise.all([run('Count me one'), run('Count me two')]);
    for (const agent of [one, two]) {
      expect(agent.result.ok).toBe(true);
      expect(dataOf(agent.events, 'model.request').map((r) => r.agentId)).toEqual([agent.result.agentId]);
    }
    const ended = tokens.get(one.result.agentId) ?? '';
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ended, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-opus-5-5', max_tokens: 10, messages: [] }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('attributes a subagent`s requests to it', async () => {
    const { result, events, sessionId } = await run(
      'Delegate the work',
      testSpec({
        tools: ['Agent'],
        subagents: { helper: { description: 'Does the work', prompt: 'You are the helper subagent.', tools: [] } },
      }),
    );
    expect(result.ok).toBe(true);
    const requests = dataOf(events, 'model.request');
    const sub = requests.filter((r) => r.subagentId !== undefined);
    expect(sub.length).toBeGreaterThanOrEqual(1);
    expect(sub[0]).toMatchObject({ inputTokens: 50, outputTokens: 5 });
    expect(requests.filter((r) => r.subagentId === undefined).length).toBeGreaterThanOrEqual(2);
    const agent = replayMetrics(sessionId, events).agents[result.agentId];
    expect(agent?.subagents?.[String(sub[0]?.subagentId)]).toMatchObject({ inputTokens: 50, requests: sub.length });
  });

  it('bounds a 429 storm: no agent sees more than the configured retries', async () => {
    const before = kit.server.requests.filter((r) => r.script === 'storm').length;
    const agents = await Promise.all([1, 2, 3, 4].map((n) => run(`Storm ${n}`)));
    for (const { result, events } of agents) {
      expect(result.ok).toBe(false);
      const requests = dataOf(events, 'model.request');
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ status: 429, ok: false, attempt: MAX_RETRIES + 1 });
      expect(requests[0]?.error).toMatchObject({ code: 'AGENT_RATE_LIMITED' });
      const retries = dataOf(events, 'model.retry');
      expect(retries.map((r) => r.attempt)).toEqual([2, 3]);
      expect(retries.every((r) => r.reason === 'AGENT_RATE_LIMITED' && r.status === 429)).toBe(true);
    }
    const upstream = kit.server.requests.filter((r) => r.script === 'storm').length - before;
    expect(upstream).toBe(4 * (MAX_RETRIES + 1));
  });

  it('retries a stream cut before any byte, and classifies one cut midway without retrying it', async () => {
    const early = await run('Cut before a byte');
    expect(early.result.ok).toBe(true);
    expect(dataOf(early.events, 'model.retry')).toEqual([
      expect.objectContaining({ fault: 'cut', reason: 'AGENT_NETWORK' }),
    ]);
    expect(dataOf(early.events, 'model.request')[0]).toMatchObject({ ok: true, attempt: 2 });

    const late = await run('Cut midway');
    const cut = dataOf(late.events, 'model.request');
    expect(cut[0]).toMatchObject({
      ok: false,
      status: 200,
      fault: 'cut',
      attempt: 1,
      error: { code: 'AGENT_NETWORK' },
    });
    // Bytes had reached the agent: that request is not retried by the gateway (Claude Code
    // then re-sends the turn as a new, non-streaming request, which is a request of its own).
    expect(dataOf(late.events, 'model.retry').filter((r) => r.requestId === cut[0]?.requestId)).toEqual([]);
  });

  it('classifies a stalled first byte as a timeout, retried within the bound', async () => {
    const { result, events } = await run('Stall');
    expect(result.ok).toBe(false);
    const requests = dataOf(events, 'model.request');
    expect(requests).toEqual([
      expect.objectContaining({
        status: 0,
        fault: 'first_byte_timeout',
        attempt: MAX_RETRIES + 1,
        error: expect.objectContaining({ code: 'AGENT_TIMEOUT' }),
      }),
    ]);
    expect(dataOf(events, 'model.retry')).toHaveLength(MAX_RETRIES);
  });
});

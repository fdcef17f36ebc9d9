import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent, EventDataMap } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow, type WorkflowState } from '../../src/workflow/index.ts';

// A node's `budget` (dollars, tokens) and `priority` with real Claude Code agents behind the
// gateway (the orchestrator's default), against the scripted model: the gateway reserves each
// request against the node's limits and fails the node once one does not fit; the node's
// priority reaches its agent's requests; Prometheus counts tokens and cost off the wire.
//
// Every turn of the spender reports 30,000 input and 500 output tokens: $0.13 at
// claude-opus-5's list price ($4/M in, $20/M out), 30,500 tokens. It asks for four turns.

const scenario = compileScenario({
  name: 'node-budgets',
  scripts: [
    {
      name: 'spender',
      match: { system: 'You are the spender' },
      turns: [
        ...[1, 2, 3].map((n) => ({
          content: [{ tool_use: { name: 'Bash', input: { command: `echo step ${n}`, description: `Step ${n}` } } }],
          usage: { input_tokens: 30_000, output_tokens: 500 },
        })),
        { content: [{ text: 'Spent.' }], usage: { input_tokens: 30_000, output_tokens: 500 } },
      ],
    },
  ],
});

const definition = parseWorkflow(
  `
name: node-budgets
concurrency: 3
onFailure: continue
agents:
  spender: { systemPrompt: "You are the spender.", tools: ["Bash(echo *)"], timeout: 90s }
nodes:
  - { id: free, agent: spender, task: "Spend freely.", priority: high }
  - { id: dollars, agent: spender, task: "Spend dollars.", budget: { usd: 0.2 } }
  - { id: tokens, agent: spender, task: "Spend tokens.", budget: { tokens: 50000 } }
`,
  'node-budgets.yaml',
);

let dir: string;
let orchestrator: Orchestrator;
let events: AnyEvent[];
let result: WorkflowState;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-node-budget-'));
  orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir: dir, logLevel: 'silent', resourceSampleMs: 0, maxConcurrentAgents: 3 }, {}),
    scenario,
  });
  const handle = await orchestrator.startWorkflow(definition);
  result = await handle.result;
  events = [];
  for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
}, 180_000);

afterAll(async () => {
  await orchestrator?.close();
  await rm(dir, { recursive: true, force: true });
});

type RequestData = EventDataMap['model.request'];

/** The `model.request` events of a node's agents. */
function requestsOf(nodeId: string): RequestData[] {
  const agents = new Set(
    events.flatMap((e) => (e.type === 'agent.spawned' && e.data.nodeId === nodeId ? [e.data.agentId] : [])),
  );
  return events.flatMap((e) => (e.type === 'model.request' && agents.has(e.data.agentId) ? [e.data] : []));
}

const tokensOf = (r: RequestData) => r.inputTokens + r.cacheReadTokens + r.cacheCreationTokens + r.outputTokens;

describe('a node’s budget through the gateway, with real agents', () => {
  it('runs the node without a budget to the end, and stops each budgeted node within its limit', () => {
    expect(result.nodes.free).toMatchObject({ status: 'completed' });
    expect(requestsOf('free').filter((r) => r.ok)).toHaveLength(4);
    for (const nodeId of ['dollars', 'tokens']) {
      expect(result.nodes[nodeId]).toMatchObject({ status: 'failed', error: { code: 'BUDGET_EXHAUSTED' } });
    }
    const dollars = requestsOf('dollars');
    const spentUsd = dollars.reduce((sum, r) => sum + r.costUsd, 0);
    console.info(`node dollars: ${dollars.filter((r) => r.ok).length} turn(s) served, $${spentUsd.toFixed(4)} of $0.2`);
    expect(dollars.filter((r) => r.ok).length).toBeGreaterThan(0);
    expect(spentUsd).toBeLessThanOrEqual(0.2);
    const tokens = requestsOf('tokens');
    const spentTokens = tokens.reduce((sum, r) => sum + tokensOf(r), 0);
    console.info(`node tokens: ${tokens.filter((r) => r.ok).length} turn(s) served, ${spentTokens} of 50000 tokens`);
    expect(tokens.filter((r) => r.ok).length).toBeGreaterThan(0);
    expect(spentTokens).toBeLessThanOrEqual(50_000);
    // The refusal is a request of its own, recorded as BUDGET_EXHAUSTED and never forwarded.
    for (const refused of [dollars, tokens].map((list) => list.at(-1))) {
      expect(refused).toMatchObject({ ok: false, status: 400, error: { code: 'BUDGET_EXHAUSTED' } });
    }
  });

  it('records each reached node budget once, in its unit', () => {
    const exhausted = events.flatMap((e) => (e.type === 'budget.exhausted' ? [e.data] : []));
    const workflowId = events.find((e) => e.type === 'workflow.started')?.data.workflowId as string;
    expect(exhausted).toHaveLength(2);
    expect(exhausted).toContainEqual(
      expect.objectContaining({ scope: 'node', key: `${workflowId}/dollars`, limitUsd: 0.2, action: 'fail' }),
    );
    expect(exhausted).toContainEqual(
      expect.objectContaining({ scope: 'node', key: `${workflowId}/tokens`, limitTokens: 50_000, action: 'fail' }),
    );
  });

  it('carries the node’s priority to its agent’s requests', () => {
    expect(requestsOf('free').every((r) => r.priority === 1)).toBe(true);
    expect(requestsOf('dollars').every((r) => r.priority === undefined)).toBe(true);
  });

  it('counts Prometheus tokens and cost off the wire, once, with Claude Code’s estimate beside', async () => {
    const text = await orchestrator.monitor.prometheusText();
    const sum = (metric: string, labels = '') =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${metric}{`) && line.includes(labels))
        .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const wire = events.flatMap((e) => (e.type === 'model.request' ? [e.data] : []));
    expect(sum('orchestrator_tokens_total', 'kind="input"')).toBe(wire.reduce((n, r) => n + r.inputTokens, 0));
    expect(sum('orchestrator_tokens_total', 'kind="output"')).toBe(wire.reduce((n, r) => n + r.outputTokens, 0));
    expect(sum('orchestrator_cost_usd_total')).toBeCloseTo(
      wire.reduce((n, r) => n + r.costUsd, 0),
      9,
    );
    const reported = events.reduce(
      (n, e) => n + (e.type === 'agent.completed' || e.type === 'agent.failed' ? (e.data.costUsd ?? 0) : 0),
      0,
    );
    expect(sum('orchestrator_sdk_cost_usd_total')).toBeCloseTo(reported, 9);
    // Claude Code sends a refused request once more (without a beta header): each is counted.
    const refused = wire.filter((r) => r.error?.code === 'BUDGET_EXHAUSTED').length;
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(sum('orchestrator_gateway_requests_total', 'outcome="BUDGET_EXHAUSTED"')).toBe(refused);
  });
});

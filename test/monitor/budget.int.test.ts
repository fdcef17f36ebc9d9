import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { replayMetrics } from '../../src/monitor/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { processesWithEnv } from '../support/agent-kit.ts';

// Budgets that stop spending, with real Claude Code agents on the real SDK against the
// scripted model server, which reports large usage: each response of the `spender` script
// costs $1 at Claude Code's list price for claude-opus-5-5 (200k input tokens at $4/M,
// 10k output tokens at $20/M).

const scenario = compileScenario({
  name: 'budget',
  scripts: [
    {
      name: 'spender',
      match: { system: 'You are the spender' },
      turns: [1, 2, 3, 4].map((n) => ({
        content: [{ tool_use: { name: 'Bash', input: { command: `echo step ${n}`, description: `Step ${n}` } } }],
        usage: { input_tokens: 200_000, output_tokens: 10_000 },
      })),
    },
    { name: 'saver', match: { system: 'You are the saver' }, turns: ['Nothing spent.'] },
  ],
});

function workflow(budget: string, onFailure = 'continue'): ReturnType<typeof parseWorkflow> {
  return parseWorkflow(
    `
name: budgeted
concurrency: 1
onFailure: ${onFailure}
budget: ${budget}
agents:
  spender: { systemPrompt: "You are the spender.", tools: ["Bash(echo *)"], timeout: 60s }
  saver: { systemPrompt: "You are the saver.", tools: [Read] }
nodes:
  - { id: spend, agent: spender, task: "Spend." }
  - { id: save, agent: saver, task: "Save.", dependsOn: [spend], trigger: all_done }
`,
    'budgeted.yaml',
  );
}

let dir: string;
let orchestrator: Orchestrator;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-budget-'));
  orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir: dir, logLevel: 'silent', resourceSampleMs: 0 }, {}),
    scenario,
  });
});

afterAll(async () => {
  await orchestrator?.close();
  await rm(dir, { recursive: true, force: true });
});

async function eventsOf(sessionId: string): Promise<AnyEvent[]> {
  const out: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) out.push(event);
  return out;
}

const requestsOf = (script: string) => orchestrator.model.scripted?.requests.filter((r) => r.script === script) ?? [];

describe('budgets with real agents', () => {
  it('stops an agent once its spending reaches the budget (typed error, no hang) and refuses the next spawn', async () => {
    const spenderBefore = requestsOf('spender').length;
    const saverBefore = requestsOf('saver').length;
    const handle = await orchestrator.startWorkflow(workflow('{ workflow: 1.5 }'));
    const final = await handle.result;
    expect(final.status).toBe('failed');

    const events = await eventsOf(handle.sessionId);
    // The spender: stopped within one model call past the limit (2 responses of $1, not 4).
    expect(requestsOf('spender').length - spenderBefore).toBe(2);
    const spenderFailed = events.filter((e) => e.type === 'agent.failed');
    expect(spenderFailed.map((e) => e.type === 'agent.failed' && e.data.error.code)).toEqual(['BUDGET_EXHAUSTED']);
    expect(final.nodes.spend).toMatchObject({ status: 'failed', error: { code: 'BUDGET_EXHAUSTED' } });
    // The saver never started: its spawn was refused before any process or model request.
    expect(requestsOf('saver').length - saverBefore).toBe(0);
    expect(
      events.filter((e) => e.type === 'agent.spawned').map((e) => e.type === 'agent.spawned' && e.data.agentType),
    ).toEqual(['spender']);
    expect(final.nodes.save).toMatchObject({ status: 'failed', error: { code: 'BUDGET_EXHAUSTED' } });

    const exhausted = events.filter((e) => e.type === 'budget.exhausted');
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]?.data).toMatchObject({ scope: 'workflow', limitUsd: 1.5, action: 'fail' });
    expect(Number(exhausted[0]?.data && (exhausted[0].data as { spentUsd: number }).spentUsd)).toBeGreaterThanOrEqual(
      1.5,
    );

    // Spending as the figures see it: $2, priced from the per-model usage.
    const metrics = replayMetrics(handle.sessionId, events);
    expect(metrics.session.costUsd).toBeCloseTo(2, 6);
    // Claude Code's own estimate is what its last result said: $2 when its own maxBudgetUsd
    // (capped at what the budget left) stopped it, $1 when the monitor's stop reached it before
    // it had counted the second response (seen once in a full suite under load). Never more.
    expect([1, 2].map((usd) => usd.toFixed(6))).toContain(metrics.session.sdkCostUsd.toFixed(6));
    expect(metrics.session.errorsByKind).toEqual({ BUDGET_EXHAUSTED: 1 });
    expect(processesWithEnv(`CLAUDE_CONFIG_DIR=${path.join(dir, 'claude')}`)).toEqual([]);
  });

  it("trips the SDK's own maxBudgetUsd inside the agent when only it is set (typed error, no hang)", async () => {
    const before = requestsOf('spender').length;
    const definition = parseWorkflow(
      `
name: capped
agents:
  spender: { systemPrompt: "You are the spender.", tools: ["Bash(echo *)"], maxBudgetUsd: 1.5, timeout: 60s }
nodes:
  - { id: spend, agent: spender, task: "Spend." }
`,
      'capped.yaml',
    );
    const handle = await orchestrator.startWorkflow(definition);
    const final = await handle.result;
    expect(final.status).toBe('failed');
    expect(final.nodes.spend?.error).toMatchObject({
      code: 'BUDGET_EXHAUSTED',
      message: expect.stringMatching(/reached its budget/),
    });
    expect(requestsOf('spender').length - before).toBe(2);
    // No scope budget was reached: the agent's own cap is not a session budget.
    expect((await eventsOf(handle.sessionId)).filter((e) => e.type === 'budget.exhausted')).toEqual([]);
  });

  it('pauses the workflow instead, leaving the stopped node to run again on resume', async () => {
    const handle = await orchestrator.startWorkflow(workflow('{ session: 1.5, onExhausted: pause }', 'fail_fast'));
    for (let i = 0; i < 600 && handle.state.status !== 'paused'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(handle.state.status).toBe('paused');
    // The pause interrupts the running node; its interruption lands once its agent has stopped
    // (a moment, longer on a loaded machine), and the engine's state runs ahead of the log by a
    // group commit.
    let events = await eventsOf(handle.sessionId);
    for (let i = 0; i < 300 && !events.some((e) => e.type === 'node.interrupted'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = await eventsOf(handle.sessionId);
    }
    const paused = events.find((e) => e.type === 'workflow.paused');
    expect(paused?.data).toMatchObject({
      reason: expect.stringMatching(/^budget exhausted: session .* of its \$1\.5 limit$/),
      interruptRunning: true,
    });
    expect(events.find((e) => e.type === 'budget.exhausted')?.data).toMatchObject({
      scope: 'session',
      action: 'pause',
    });
    expect(handle.state.nodes.spend?.status).toBe('retry_wait');
    expect(events.some((e) => e.type === 'node.interrupted' && e.data.nodeId === 'spend')).toBe(true);
    expect(events.some((e) => e.type === 'node.failed')).toBe(false);
    handle.cancel('test over');
    expect((await handle.result).status).toBe('cancelled');
  });
});

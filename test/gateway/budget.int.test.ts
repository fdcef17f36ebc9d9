import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';

// Budgets enforced per request by the gateway, with 8 real Claude Code agents at once: every
// request reserves what it can cost before it is forwarded, so concurrent agents never spend
// the same money twice. The scripted model reports usage the size of the real request (its
// default), as a real model would.

const scenario = parseScenario(
  `
name: budget-gateway
scripts:
  - name: worker
    match: { system: "You are a worker" }
    turns:
      - content: [{ text: "Done." }]
        usage: { output_tokens: 40 }
`,
  'budget-gateway.yaml',
);

const workflow = (width: number) =>
  parseWorkflow(
    `
name: eight
concurrency: ${width}
onFailure: continue
agents:
  worker: { systemPrompt: "You are a worker.", tools: [] }
nodes:
${Array.from({ length: width }, (_, i) => `  - { id: w${i}, agent: worker, task: "Work ${i}." }`).join('\n')}
`,
    'eight.yaml',
  );

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-gateway-budget-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, width: number, budgetUsd?: number): Promise<AnyEvent[]> {
  const orchestrator = await Orchestrator.open({
    config: loadConfig(
      {
        dataDir: path.join(dir, name),
        logLevel: 'silent',
        maxConcurrentAgents: width,
        ...(budgetUsd !== undefined && { budgetSessionUsd: budgetUsd }),
      },
      {},
    ),
    scenario,
  });
  try {
    const handle = await orchestrator.startWorkflow(workflow(width));
    await handle.result;
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    return events;
  } finally {
    await orchestrator.close();
  }
}

const requests = (events: readonly AnyEvent[]) =>
  events.filter((e) => e.type === 'model.request') as Array<AnyEvent & { data: { costUsd?: number; ok: boolean } }>;

describe('budgets per request in the gateway', () => {
  it('8 concurrent agents spend no more than the budget plus one turn', { timeout: 120_000 }, async () => {
    // One turn's cost, measured: the same request any of the eight sends.
    const alone = requests(await run('calibrate', 1));
    expect(alone).toHaveLength(1);
    const turn = alone[0]?.data.costUsd ?? 0;
    expect(turn).toBeGreaterThan(0);

    const budget = 3.2 * turn;
    const events = await run('eight', 8, budget);
    const served = requests(events).filter((r) => r.data.ok);
    const spent = served.reduce((sum, r) => sum + (r.data.costUsd ?? 0), 0);
    console.info(
      `one turn $${turn.toFixed(4)}, budget $${budget.toFixed(4)}: ${served.length} of 8 served, spent $${spent.toFixed(4)}`,
    );
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThan(8);
    expect(spent).toBeLessThanOrEqual(budget + turn);
    // The rest were refused before anything was forwarded, as budget exhaustion.
    const refused = events.filter(
      (e) =>
        (e.type === 'agent.failed' || e.type === 'node.failed') && JSON.stringify(e.data).includes('BUDGET_EXHAUSTED'),
    );
    expect(refused.length).toBeGreaterThan(0);
  });
});

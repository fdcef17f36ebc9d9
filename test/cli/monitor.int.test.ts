import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricsState, replayMetrics, type StatsSummary } from '../../src/monitor/index.ts';
import { describeResult, openLogReader, parseJsonLines, runCli, tempDir } from '../support/cli-kit.ts';

// The figures of real runs through the CLI: real Claude Code agents on the real SDK against
// the scripted model server, whose scenario fixes every response's usage, so the figures
// `run`, `sessions show` and `stats` print can be checked to the cent.

const WORKFLOW = `
name: figures
alerts:
  maxCost: { session: 0.01 }
agents:
  writer: { systemPrompt: "You are the writer.", tools: [Write, Read] }
  checker: { systemPrompt: "You are the checker.", tools: [Read] }
nodes:
  - { id: write, agent: writer, task: "Write notes.txt." }
  - { id: check, agent: checker, task: "Check notes.txt.", dependsOn: [write] }
`;

// Each response: 1000 input, 100 output, 500 cache-read tokens on claude-opus-5-5
// ($4, $20, $0.20 per million): $0.0061.
const usage = { input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 500 };
const SCENARIO = {
  name: 'figures',
  scripts: [
    {
      name: 'writer',
      match: { system: 'You are the writer' },
      turns: [
        { content: [{ tool_use: { name: 'Write', input: { file_path: 'notes.txt', content: 'hello\n' } } }], usage },
        { content: [{ text: 'Written.' }], usage },
      ],
    },
    {
      name: 'checker',
      match: { system: 'You are the checker' },
      turns: [
        { content: [{ tool_use: { name: 'Read', input: { file_path: 'notes.txt' } } }], usage },
        { content: [{ text: 'Looks fine.' }], usage },
      ],
    },
  ],
};
const PER_RESPONSE = (1000 * 4 + 100 * 20 + 500 * 0.2) / 1e6;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let file: string;

beforeAll(async () => {
  tmp = await tempDir('figures');
  file = path.join(tmp.dir, 'figures.yaml');
  await writeFile(file, WORKFLOW);
  await writeFile(path.join(tmp.dir, 'figures.scenario.yaml'), JSON.stringify(SCENARIO));
});
afterAll(async () => {
  await tmp?.cleanup();
});

async function metricsOf(dataDir: string, sessionId: string): Promise<MetricsState> {
  const reader = await openLogReader(dataDir);
  try {
    return replayMetrics(sessionId, await reader.events(sessionId));
  } finally {
    await reader.close();
  }
}

describe('figures through the CLI', () => {
  it('run, sessions show and stats print the tokens, cost, tool calls and times of a real run', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const traces = path.join(tmp.dir, 'traces.jsonl');
    const run = await runCli(['run', file], {
      dataDir,
      env: { ORCHESTRATOR_OTEL: 'file', ORCHESTRATOR_OTEL_FILE: traces },
    });
    expect(run.code, describeResult(run)).toBe(0);
    const sessionId = /\(session (\S+)\)$/m.exec(run.stdout)?.[1] as string;
    // The progress view: the session alert, then the summary with the figures and the time.
    expect(run.stdout).toMatch(
      /^ {2}⚠ alert max_session_cost: the session has spent \$0\.0122 \(alert above \$0\.01\)$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}2 agents, 4 turns, 2 tool calls, 4\.0k in \/ 400 out tokens \(2\.0k cached\), \$0\.0244 \(simulated: scripted model\), \d+\.\ds$/m,
    );

    const metrics = await metricsOf(dataDir, sessionId);
    expect(metrics.session).toMatchObject({
      agents: 2,
      turns: 4,
      toolCalls: 2,
      toolCallsByTool: { Write: 1, Read: 1 },
      inputTokens: 4000,
      outputTokens: 400,
      cacheReadTokens: 2000,
      stepsCompleted: 2,
    });
    expect(metrics.session.costUsd).toBeCloseTo(4 * PER_RESPONSE, 9);
    expect(metrics.session.sdkCostUsd).toBeCloseTo(4 * PER_RESPONSE, 9);
    expect(metrics.session.ttft.count).toBe(4);
    expect(metrics.alertsRaised).toBe(1);

    const show = await runCli(['sessions', 'show', sessionId], { dataDir });
    expect(show.code, describeResult(show)).toBe(0);
    expect(show.stdout).toMatch(/^ {2}workflow: {2}figures completed in \d+\.\ds, 2 steps completed$/m);
    expect(show.stdout).toContain(
      '  tokens:    4.0k in, 400 out, 2.0k cache read, 0 cache write; largest context 1.5k',
    );
    expect(show.stdout).toContain('  cost:      $0.0244 (SDK estimate $0.0244)');
    expect(show.stdout).toMatch(/^ {2}turns: {5}4 model responses; first token \d+\.\ds avg, response \d+\.\ds avg/m);
    expect(show.stdout).toContain('  tools:     2 calls: Read 1, Write 1; 0 errors');
    expect(show.stdout).toContain('  alerts:    1 raised, open: max_session_cost');
    expect(show.stdout).toMatch(
      /^agt_\S+ +writer +write +claude-opus-5-5 +2 +1 +2\.0k\/200 +\$0\.0122 +\d+\.\ds +completed$/m,
    );
    expect(show.stdout).toMatch(/^agent\.usage +4$/m);

    const json = await runCli(['sessions', 'show', sessionId, '--json'], { dataDir });
    const parsed = parseJsonLines(json.stdout)[0] as { metrics: MetricsState };
    expect(parsed.metrics).toEqual(metrics);

    const stats = await runCli(['stats', '--json'], { dataDir });
    expect(stats.code, describeResult(stats)).toBe(0);
    const summary = parseJsonLines(stats.stdout)[0] as StatsSummary;
    expect(summary.rows.map((row) => [row.key, row.agents, row.turns])).toEqual([
      ['checker', 1, 2],
      ['writer', 1, 2],
    ]);
    expect(summary.total.costUsd).toBeCloseTo(4 * PER_RESPONSE, 9);
    const byWorkflow = await runCli(['stats', '--by', 'workflow'], { dataDir });
    expect(byWorkflow.stdout).toMatch(/^figures +1 +2 +4 +2 +4\.0k +400 +2\.0k +0 +\$0\.0244 +\$0\.0244 +0$/m);

    // Traces were on (ORCHESTRATOR_OTEL=file): one span per agent, with GenAI attributes.
    const spans = (await readFile(traces, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')).toHaveLength(2);
    expect(spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat')).toHaveLength(4);
  });

  it('stops at a budget set in the environment, says so, and exits 1', { timeout: 120_000 }, async () => {
    const dataDir = path.join(tmp.dir, 'budget');
    // The writer spends $0.0122 and completes; the checker starts with the $0.0028 left as its
    // maxBudgetUsd, and is stopped by its first response.
    // The monitor's budget, figured from what Claude Code reports: the scripted usage is far
    // below the requests' real size, which the gateway's reservation counts (see test/gateway).
    const run = await runCli(['run', file], {
      dataDir,
      env: { ORCHESTRATOR_BUDGET_SESSION_USD: '0.015', ORCHESTRATOR_GATEWAY: 'off' },
    });
    expect(run.code, describeResult(run)).toBe(1);
    expect(run.stdout).toMatch(/^ {2}✓ write +completed/m);
    expect(run.stdout).toMatch(/^ {2}\$ budget of the session reached: \$0\.0183 of \$0\.0150; no more agents start$/m);
    expect(run.stdout).toMatch(/^ {2}✗ check +failed \[BUDGET_EXHAUSTED\]/m);
    expect(run.stdout).toMatch(/^✘ workflow failed/m);
    const sessionId = /\(session (\S+)\)$/m.exec(run.stdout)?.[1] as string;
    const metrics = await metricsOf(dataDir, sessionId);
    expect(metrics.session.agents).toBe(2);
    expect(metrics.session.turns).toBe(3);
    expect(metrics.budgets).toMatchObject([{ scope: 'session', limitUsd: 0.015, action: 'fail' }]);
    const show = await runCli(['sessions', 'show', sessionId], { dataDir });
    expect(show.stdout).toMatch(/^ {2}budget: {4}session \S+ reached: \$0\.0183 of \$0\.0150 \(fail\)$/m);
    expect(show.stdout).toContain('  errors:    BUDGET_EXHAUSTED 1');
  });

  it('pauses at a budget when told to, leaving the session resumable, and exits 75', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'pause');
    const env = {
      ORCHESTRATOR_BUDGET_SESSION_USD: '0.015',
      ORCHESTRATOR_BUDGET_ACTION: 'pause',
      ORCHESTRATOR_GATEWAY: 'off',
    };
    const run = await runCli(['run', file], { dataDir, env });
    expect(run.code, describeResult(run)).toBe(75);
    expect(run.stdout).toMatch(/^ {2}\$ budget of the session reached: \$0\.0183 of \$0\.0150; pausing the workflow$/m);
    expect(run.stdout).toMatch(
      /^ {2}‖ paused: budget exhausted: session \S+ has spent \$0\.0183 of its \$0\.015 limit; raise the budget, then: orchestrator sessions resume \S+$/m,
    );
    const sessionId = /\(session (\S+)\)$/m.exec(run.stdout)?.[1] as string;
    const reader = await openLogReader(dataDir);
    try {
      const events = await reader.events(sessionId);
      expect(events.some((e) => e.type === 'node.interrupted' && e.data.nodeId === 'check')).toBe(true);
      expect(events.some((e) => e.type === 'workflow.completed')).toBe(false);
    } finally {
      await reader.close();
    }
  });
});

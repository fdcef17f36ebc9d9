import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayMetrics } from '../../src/monitor/index.ts';
import type { SessionReport, SessionRow, StatisticsReport } from '../../src/reports/index.ts';
import {
  describeResult,
  type LogReader,
  openLogReader,
  parseJsonLines,
  runCli,
  startCli,
  tempDir,
  waitFor,
} from '../support/cli-kit.ts';

// Figures that tell the truth, through the CLI with real Claude Code agents against the
// scripted model: a run SIGKILLed under a cap of 2 agents and resumed (its dead agents ended,
// its status interrupted until the resume, peak concurrency as it was, durations without the
// downtime, its unreported spend explained, the same cost in `show` and `diff`); a fork and an
// import counted once by `stats`, and a damaged session left out with a warning; a rolled-back
// workflow (its compensation run by a real agent) with the warm pool's spares in the memory figure.

// Four independent nodes under a cap of 2 (two to finish, two for the kill to catch). Each
// agent writes a file (turn 1), then answers after a wait (turn 2): a kill in that wait leaves
// an agent that has spent and never reported.
const WIDE = `
name: wide
agents:
  worker: { systemPrompt: "You are a worker.", tools: [Write] }
nodes:
${['a', 'b', 'c', 'd'].map((id) => `  - { id: ${id}, agent: worker, task: "Write ${id}.txt." }`).join('\n')}
`;
const usage = { input_tokens: 1000, output_tokens: 100 };
const WIDE_SCENARIO = {
  name: 'wide',
  scripts: [
    {
      name: 'worker',
      match: { system: 'You are a worker' },
      turns: [
        { content: [{ tool_use: { name: 'Write', input: { file_path: 'out.txt', content: 'x\n' } } }], usage },
        { content: [{ text: 'Written.' }], usage, delay_ms: 2500 },
      ],
    },
  ],
};

const ROLLBACK = `
name: undo
rollback: true
agents:
  worker: { systemPrompt: "You are a worker.", tools: [Write] }
  breaker: { systemPrompt: "You are the breaker.", tools: [] }
nodes:
  - { id: make, agent: worker, task: "Write a.txt.", compensation: "Remove a.txt." }
  - { id: break, agent: breaker, task: "Break.", dependsOn: [make] }
`;
const ROLLBACK_SCENARIO = {
  name: 'undo',
  scripts: [
    { name: 'breaker', match: { system: 'You are the breaker' }, turns: [{ fault: { status: 401, times: 'always' } }] },
    { name: 'worker', match: { system: 'You are a worker' }, turns: [{ content: [{ text: 'Done.' }] }] },
  ],
};

const CAP = { ORCHESTRATOR_MAX_AGENTS: '2' };
const SESSION = 'ses_truth_wide';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let reader: LogReader;
const files: Record<string, string> = {};

beforeAll(async () => {
  tmp = await tempDir('truth');
  dataDir = path.join(tmp.dir, 'data');
  for (const [name, workflow, scenario] of [
    ['wide', WIDE, WIDE_SCENARIO],
    ['undo', ROLLBACK, ROLLBACK_SCENARIO],
  ] as const) {
    files[name] = path.join(tmp.dir, `${name}.yaml`);
    await writeFile(files[name], workflow);
    await writeFile(path.join(tmp.dir, `${name}.scenario.yaml`), JSON.stringify(scenario));
  }
  reader = await openLogReader(dataDir);
});
afterAll(async () => {
  await reader?.close();
  await tmp?.cleanup();
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { dataDir, env });

async function show(sessionId: string): Promise<SessionReport> {
  const result = await cli(['sessions', 'show', sessionId, '--json']);
  expect(result.code, describeResult(result)).toBe(0);
  return parseJsonLines(result.stdout)[0] as SessionReport;
}

async function stats(): Promise<{ summary: StatisticsReport; stderr: string }> {
  const result = await cli(['stats', '--json']);
  expect(result.code, describeResult(result)).toBe(0);
  return { summary: parseJsonLines(result.stdout)[0] as StatisticsReport, stderr: result.stderr };
}

describe('figures that tell the truth', () => {
  let killedAgents: string[] = [];

  it('a run killed under a cap of 2 shows as interrupted and resumable, its agents ended, its spend explained', {
    timeout: 180_000,
  }, async () => {
    const run = startCli(['run', files.wide as string, '--session', SESSION], { dataDir, env: CAP });
    // Kill once two nodes are done and a running agent has been answered once (it has spent)
    // but has not reported its result.
    await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${run.stdout()}${run.stderr()}`);
        const events = await reader.events(SESSION);
        const done = events.filter((e) => e.type === 'node.completed').length;
        const ended = new Set(events.flatMap((e) => (e.type === 'agent.completed' ? [e.data.agentId] : [])));
        const spent = events.some((e) => e.type === 'model.request' && !ended.has(e.data.agentId));
        return done >= 2 && spent;
      },
      'two nodes done and an agent half-way',
      { timeoutMs: 150_000, intervalMs: 25 },
    );
    run.child.kill('SIGKILL');
    await run.exited;
    const events = await reader.events(SESSION);
    const ended = new Set(events.flatMap((e) => (e.type === 'agent.completed' ? [e.data.agentId] : [])));
    killedAgents = events.flatMap((e) =>
      e.type === 'agent.spawned' && !ended.has(e.data.agentId) ? [e.data.agentId] : [],
    );
    expect(killedAgents.length).toBeGreaterThan(0);

    const report = await show(SESSION);
    expect(report).toMatchObject({ status: 'interrupted', resumable: true });
    expect(report.owner).toBeUndefined();
    for (const agentId of killedAgents) {
      expect(report.metrics.agents[agentId], agentId).toMatchObject({ outcome: 'interrupted', active: false });
    }
    expect(report.metrics.session.activeAgents).toBe(0);
    expect(report.metrics.session.peakConcurrency).toBeLessThanOrEqual(2);
    expect(report.metrics.session.interruptions).toBe(killedAgents.length);
    // The half-way agent's answer is in the cost, not in Claude Code's estimate: that is the difference.
    expect(report.cost.unreportedUsd).toBeGreaterThan(0);
    expect(report.cost.costUsd).toBeCloseTo(report.cost.sdkCostUsd + report.cost.unreportedUsd, 6);
    expect(report.cost.pricedFrom).toBe('wire');

    const text = await cli(['sessions', 'show', SESSION]);
    expect(text.stdout).toContain(`status:    interrupted: no process runs it`);
    expect(text.stdout).toContain(`orchestrator sessions resume ${SESSION}`);
    expect(text.stdout).toMatch(/whose process died before Claude Code reported it\)$/m);
    expect(text.stdout).not.toMatch(/ (responding|thinking|initializing|using_tools)$/m);
    const listed = parseJsonLines((await cli(['sessions', 'list', '--json'])).stdout) as SessionRow[];
    expect(listed.find((row) => row.sessionId === SESSION)).toMatchObject({ status: 'interrupted', resumable: true });
  });

  it('resumed, it keeps peak concurrency at the cap, durations without the downtime, one cost in show and diff', {
    timeout: 180_000,
  }, async () => {
    const before = await reader.lastSeq(SESSION);
    // At least 2 s of downtime since the last event before the kill (the checks above
    // usually took that long already).
    const killedAt = Date.parse((await reader.events(SESSION)).at(-1)?.ts ?? '');
    expect(killedAt).not.toBeNaN();
    await waitFor(() => Date.now() >= killedAt + 2_000, 'two seconds of downtime', { timeoutMs: 5_000 });
    const resumed = await cli(['sessions', 'resume', SESSION], CAP);
    expect(resumed.code, describeResult(resumed)).toBe(0);

    const report = await show(SESSION);
    const { session, workflows } = report.metrics;
    expect(report).toMatchObject({ status: 'completed', resumable: false });
    // Counted before: the dead agents stayed "active" and the resumed ones came on top.
    expect(session.peakConcurrency).toBe(2);
    expect(session.activeAgents).toBe(0);
    expect(session.interruptions).toBe(killedAgents.length);
    const nodeInterruptions = Object.values(workflows).flatMap((wf) => Object.values(wf.nodes));
    expect(nodeInterruptions.reduce((n, node) => n + node.nodeInterruptions, 0)).toBeGreaterThan(0);
    const wf = Object.values(workflows)[0];
    const wall = Date.parse(wf?.endedAt ?? '') - Date.parse(wf?.startedAt ?? '');
    expect(wf?.downtimeMs).toBeGreaterThanOrEqual(2_000);
    expect(wf?.durationMs).toBe(wall - (wf?.downtimeMs ?? 0));
    expect(report.downtimeMs).toBe(wf?.downtimeMs);
    expect(report.cost.unreportedUsd).toBeGreaterThan(0);

    // sessions diff from the version taken at the kill point prices the cost added the same way.
    const version = await cli(['sessions', 'version', SESSION, '--json']);
    expect(version.code, describeResult(version)).toBe(0);
    const events = await reader.events(SESSION);
    const versions = parseJsonLines((await cli(['sessions', 'versions', SESSION, '--json'])).stdout) as Array<{
      version: number;
      seq: number;
    }>;
    const early = versions.find((v) => v.seq <= before) ?? versions[0];
    const diff = await cli(['sessions', 'diff', SESSION, String(early?.version), '--json']);
    expect(diff.code, describeResult(diff)).toBe(0);
    const summary = (JSON.parse(diff.stdout) as { summary: { costAddedUsd: number; sdkCostAddedUsd: number } }).summary;
    const atVersion = replayMetrics(
      SESSION,
      events.filter((e) => e.seq <= (early?.seq ?? 0)),
    ).session;
    expect(summary.costAddedUsd).toBeCloseTo(report.cost.costUsd - atVersion.costUsd, 5);
    expect(summary.sdkCostAddedUsd).toBeCloseTo(report.cost.sdkCostUsd - atVersion.sdkCostUsd, 5);
  });

  it('stats counts a fork and an import once, and leaves a damaged session out with a warning', {
    timeout: 180_000,
  }, async () => {
    const alone = (await stats()).summary;
    const spent = alone.total.costUsd;
    expect(spent).toBeGreaterThan(0);

    const fork = await cli(['sessions', 'fork', SESSION, '--version', '1', '--as', 'ses_truth_fork']);
    expect(fork.code, describeResult(fork)).toBe(0);
    const file = path.join(tmp.dir, 'wide.session.jsonl');
    expect((await cli(['sessions', 'export', SESSION, '-o', file])).code).toBe(0);
    const imported = await cli(['sessions', 'import', file, '--as', 'ses_truth_import']);
    expect(imported.code, describeResult(imported)).toBe(0);

    const forkReport = await show('ses_truth_fork');
    expect(forkReport.origin).toMatchObject({ kind: 'fork', fromSessionId: SESSION, fromVersion: 1 });
    expect(forkReport.status).toBe('interrupted');
    const importReport = await show('ses_truth_import');
    expect(importReport.origin).toMatchObject({ kind: 'import', fromSessionId: SESSION });
    expect(importReport.origin?.inheritedCostUsd).toBeCloseTo(spent, 6);
    expect((await cli(['sessions', 'show', 'ses_truth_import'])).stdout).toMatch(
      new RegExp(`origin: {4}imported from ${SESSION} .*of spending inherited`),
    );

    const after = (await stats()).summary;
    expect(after.total.costUsd).toBeCloseTo(spent, 6);
    expect(after.total.agents).toBe(alone.total.agents);

    // One damaged row in the import's log: stats skips that session, names it, sums the rest.
    const db = new DatabaseSync(path.join(dataDir, 'events.db'));
    try {
      db.prepare(`UPDATE events SET data = '{"damaged":true}' WHERE session_id = ? AND seq = 3`).run(
        'ses_truth_import',
      );
    } finally {
      db.close();
    }
    const damaged = await stats();
    expect(damaged.summary.skipped).toMatchObject([{ sessionId: 'ses_truth_import', code: 'STORE_CORRUPT' }]);
    expect(damaged.stderr).toContain('warning: left out session ses_truth_import');
    expect(damaged.summary.total.costUsd).toBeCloseTo(spent, 6);
    const table = await cli(['stats']);
    expect(table.code, describeResult(table)).toBe(0);
    expect(table.stdout).toMatch(/^TOTAL /m);
  });

  it('shows a rolled-back workflow as rolled back, and the warm pool’s spares in the memory figure', {
    timeout: 120_000,
  }, async () => {
    const env = { ORCHESTRATOR_WARM_POOL: '1', ORCHESTRATOR_RESOURCE_SAMPLE_MS: '200' };
    const run = await cli(['run', files.undo as string, '--session', 'ses_truth_undo'], env);
    expect(run.code, describeResult(run)).toBe(1);
    const report = await show('ses_truth_undo');
    expect(Object.values(report.metrics.workflows)[0]).toMatchObject({
      status: 'failed',
      rolledBack: true,
      compensations: { ok: 1, failed: 0 },
    });
    const { session } = report.metrics;
    expect(session.peakSpareRssBytes).toBeGreaterThan(0);
    expect(session.peakRssBytes).toBeGreaterThan(session.peakSpareRssBytes);
    const text = (await cli(['sessions', 'show', 'ses_truth_undo'])).stdout;
    expect(text).toMatch(/^ {2}workflow: {2}undo failed and rolled back \(1 compensation\) in \d+\.\ds/m);
    expect(text).toMatch(/MB of it warm spares\)$/m);
  });
});

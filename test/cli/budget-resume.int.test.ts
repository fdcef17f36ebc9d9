import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelServer } from '../../src/model-server/index.ts';
import {
  agentProcesses,
  describeResult,
  type LogReader,
  openLogReader,
  runCli,
  startNetworkModel,
  tempDir,
  UNSETTLED_AWAIT,
} from '../support/cli-kit.ts';

// A budget that pauses, then `sessions resume` under raised limits, with the model reached over
// the network. Every response costs $0.0061 (1000 input, 100 output, 500 cache-read tokens on
// claude-opus-5-5): the writer spends $0.0122 and completes, the checker's first response
// takes the session to $0.0183, over a $0.015 limit: the workflow pauses. Resumed under a
// limit still reached, nothing runs; under $0.02 it carries on and pauses again at the new
// limit; under $1 it completes.

const WORKFLOW = `
name: budgeted
agents:
  writer: { systemPrompt: "You are the writer.", tools: [Write, Read] }
  checker: { systemPrompt: "You are the checker.", tools: [Read] }
nodes:
  - { id: write, agent: writer, task: "Write notes.txt." }
  - { id: check, agent: checker, task: "Check notes.txt.", dependsOn: [write] }
`;
const usage = { input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 500 };
const SCENARIO = {
  name: 'budgeted',
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

let tmp: Awaited<ReturnType<typeof tempDir>>;
let file: string;
let server: ModelServer;
let modelEnv: Record<string, string>;
let reader: LogReader;
let dataDir: string;
const sessionId = 'ses_budget_resume';

beforeAll(async () => {
  tmp = await tempDir('budget-resume');
  file = path.join(tmp.dir, 'budgeted.yaml');
  await writeFile(file, WORKFLOW);
  const scenario = path.join(tmp.dir, 'budgeted.scenario.json');
  await writeFile(scenario, JSON.stringify(SCENARIO));
  ({ server, env: modelEnv } = await startNetworkModel(scenario));
  dataDir = path.join(tmp.dir, 'data');
  reader = await openLogReader(dataDir);
});
afterAll(async () => {
  await reader?.close();
  await server?.close();
  await tmp?.cleanup();
});

// The monitor's budgets, as figured from what Claude Code reports: the scripted usage here is
// far below the requests' real size, which the gateway's per-request reservation counts
// (test/gateway covers that path), so the gateway is off.
const env = (extra: Record<string, string> = {}) => ({
  ...modelEnv,
  ORCHESTRATOR_GATEWAY: 'off',
  ORCHESTRATOR_BUDGET_ACTION: 'pause',
  ...extra,
});

describe('a session paused by its budget', () => {
  it('pauses under --budget-session and exits 75', { timeout: 120_000 }, async () => {
    const run = await runCli(['run', file, '--session', sessionId, '--budget-session', '0.015'], {
      dataDir,
      env: env(),
    });
    expect(run.code, describeResult(run)).toBe(75);
    expect(run.stderr).not.toContain(UNSETTLED_AWAIT);
    expect(run.stdout).toMatch(
      /^ {2}‖ paused: budget exhausted: session \S+ has spent \$0\.0183 of its \$0\.015 limit/m,
    );
    const events = await reader.events(sessionId);
    expect(events.findLast((e) => e.type === 'workflow.paused')?.data.reason).toMatch(/^budget exhausted/);
    expect(events.some((e) => e.type === 'workflow.completed')).toBe(false);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  it('stays paused when resumed under a limit still reached: nothing recorded, no request, exit 75', {
    timeout: 60_000,
  }, async () => {
    const before = await reader.lastSeq(sessionId);
    const requests = server.requests.length;
    const resumed = await runCli(['sessions', 'resume', sessionId], {
      dataDir,
      env: env({ ORCHESTRATOR_BUDGET_SESSION_USD: '0.015' }),
    });
    expect(resumed.code, describeResult(resumed)).toBe(75);
    expect(resumed.stdout).toContain(
      `session ${sessionId} is still paused by its budget: the session has spent $0.0183 of its $0.015 limit`,
    );
    expect(await reader.lastSeq(sessionId)).toBe(before);
    expect(server.requests.length).toBe(requests);
  });

  it('carries on under a raised limit (the flag overrides the environment) and pauses again at it', {
    timeout: 120_000,
  }, async () => {
    const before = await reader.lastSeq(sessionId);
    const resumed = await runCli(['sessions', 'resume', sessionId, '--budget-session', '0.02'], {
      dataDir,
      env: env({ ORCHESTRATOR_BUDGET_SESSION_USD: '0.015' }),
    });
    expect(resumed.code, describeResult(resumed)).toBe(75);
    expect(resumed.stderr).not.toContain(UNSETTLED_AWAIT);
    const after = (await reader.events(sessionId)).filter((e) => e.seq > before);
    const types = after.map((e) => e.type);
    expect(types[0]).toBe('session.resumed');
    expect(types).toContain('workflow.resumed');
    // The checker ran again, and the raised limit was reported and paused the workflow anew.
    expect(after.some((e) => e.type === 'node.started' && e.data.nodeId === 'check')).toBe(true);
    const exhausted = after.flatMap((e) => (e.type === 'budget.exhausted' ? [e.data] : []));
    expect(exhausted).toMatchObject([{ scope: 'session', limitUsd: 0.02, action: 'pause' }]);
    expect(after.findLast((e) => e.type === 'workflow.paused')?.seq).toBeGreaterThan(
      after.find((e) => e.type === 'workflow.resumed')?.seq ?? Number.POSITIVE_INFINITY,
    );
    expect(resumed.stdout).toMatch(/‖ paused: budget exhausted: session \S+ has spent \$0\.\d+ of its \$0\.02 limit/);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  it('completes when resumed under a limit high enough, and exits 0', { timeout: 120_000 }, async () => {
    const resumed = await runCli(['sessions', 'resume', sessionId, '--budget-session', '1'], {
      dataDir,
      env: env(),
    });
    expect(resumed.code, describeResult(resumed)).toBe(0);
    expect(resumed.stdout).toContain('budget raised: the workflow carries on');
    const events = await reader.events(sessionId);
    expect(events.findLast((e) => e.type === 'workflow.completed')?.data.status).toBe('completed');
    expect(events.filter((e) => e.type === 'node.completed').map((e) => e.data.nodeId)).toEqual(['write', 'check']);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });
});

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelLogLine } from '../../src/model-server/index.ts';
import type { SessionRow } from '../../src/reports/index.ts';
import {
  describeResult,
  type LogReader,
  openLogReader,
  parseJsonLines,
  REPO_ROOT,
  runCli,
  startCli,
  tempDir,
  waitFor,
} from '../support/cli-kit.ts';

// Real runs of the hello workflow (real agents, scripted model) leave sessions in several
// states; `sessions list` tells them apart (an owner killed mid-run leaves an "interrupted
// (resumable)" session), `sessions resume` carries that one on with the scenario its run was
// given with `--model-server` (not the one beside the workflow), and the scripted model's
// requests are written to the file `--model-log` or `ORCHESTRATOR_MODEL_LOG` names.

const HELLO = path.join(REPO_ROOT, 'examples', 'hello', 'workflow.yaml');

/** A scenario for the hello agents whose answers say where they come from; the writer's first turn is slow. */
const scenarioSaying = (marker: string, name: string) => `name: ${name}
scripts:
  - name: writer
    match: { system: "You are the writer" }
    turns:
      - content:
          - text: ${marker} is writing.
          - tool_use: { name: Write, input: { file_path: hello.txt, content: "${marker}\\n" } }
        delay_ms: 4000
      - "${marker}: wrote hello.txt"
  - name: reviewer
    match: { system: "You are the reviewer" }
    turns:
      - "${marker}: approved."
`;

const readLog = async (file: string) => parseJsonLines(await readFile(file, 'utf8')) as ModelLogLine[];

describe('sessions list, resume with the recorded scenario, the scripted model log', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let reader: LogReader;
  let flow: string;
  let custom: string;
  const cli = (args: string[], env?: Record<string, string>) => runCli(args, { dataDir, ...(env && { env }) });
  const list = async (...args: string[]) => {
    const result = await cli(['sessions', 'list', '--json', ...args]);
    expect(result.code, describeResult(result)).toBe(0);
    return parseJsonLines(result.stdout) as SessionRow[];
  };

  beforeAll(async () => {
    tmp = await tempDir('sessions-list');
    dataDir = path.join(tmp.dir, 'data');
    reader = await openLogReader(dataDir);
    // The workflow with a scenario beside it that the interrupted run was NOT given, and the
    // scenario it was given, in another folder.
    await mkdir(path.join(tmp.dir, 'flow'));
    await mkdir(path.join(tmp.dir, 'scenarios'));
    flow = path.join(tmp.dir, 'flow', 'workflow.yaml');
    await copyFile(HELLO, flow);
    await writeFile(path.join(tmp.dir, 'flow', 'scenario.yaml'), scenarioSaying('BESIDE-SCENARIO', 'beside'));
    custom = path.join(tmp.dir, 'scenarios', 'custom.yaml');
    await writeFile(custom, scenarioSaying('CUSTOM-SCENARIO', 'custom'));
  });

  afterAll(async () => {
    await reader?.close();
    await tmp?.cleanup();
  });

  it('writes each request the scripted model served to --model-log, with times, step, agent, task and tokens', {
    timeout: 120_000,
  }, async () => {
    const file = path.join(tmp.dir, 'model-log.jsonl');
    const run = await cli(['run', HELLO, '--session', 'ses_list_done', '--model-log', file]);
    expect(run.code, describeResult(run)).toBe(0);
    expect(run.stdout).toContain(`its requests are logged to ${file}`);
    const lines = (await readLog(file)).filter((line) => line.path === '/v1/messages');
    const writer = lines.find((line) => line.script === 'writer' && line.turn === 0);
    expect(writer, JSON.stringify(lines, null, 1)).toMatchObject({
      scenario: 'hello',
      answer: 'turn',
      attempt: 1,
      agent: expect.stringContaining('You are the writer'),
      task: expect.stringContaining('Write a friendly greeting into hello.txt.'),
      tokens: { input: 900, output: 60, cacheRead: 0, cacheCreation: 0 },
    });
    expect(lines.find((line) => line.script === 'reviewer' && line.turn === 1)).toBeDefined();
    for (const line of lines) {
      expect(Date.parse(line.time)).not.toBeNaN();
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
    }
    // In the order they were served.
    const ends = lines.map((line) => Date.parse(line.time) + line.durationMs);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
  });

  it('lists an owner killed mid-run as interrupted (resumable), beside completed and failed sessions', {
    timeout: 120_000,
  }, async () => {
    const failed = await cli(['run', HELLO, '--session', 'ses_list_failed', '--budget-session', '0']);
    expect(failed.code, describeResult(failed)).toBe(1);

    const run = startCli(['run', flow, '--session', 'ses_list_cut', '--model-server', custom], { dataDir });
    await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${describeResult(await run.exited)}`);
        return (await reader.events('ses_list_cut')).some((e) => e.type === 'agent.spawned');
      },
      'the writer to start',
      { timeoutMs: 90_000 },
    );
    run.child.kill('SIGKILL');
    await run.exited;

    const sessions = await list();
    expect(sessions.map((s) => s.sessionId)).toEqual(['ses_list_cut', 'ses_list_failed', 'ses_list_done']);
    const [cut, fail, done] = sessions as [SessionRow, SessionRow, SessionRow];
    expect(cut).toMatchObject({ status: 'interrupted', resumable: true, workflow: 'hello' });
    expect(cut.owner).toBeUndefined();
    expect(fail).toMatchObject({ status: 'failed', resumable: false, workflow: 'hello', costUsd: 0 });
    expect(done).toMatchObject({ status: 'completed', resumable: false, workflow: 'hello', simulated: true });
    expect(done.costUsd).toBeGreaterThan(0);
    expect(done.lastSeq).toBe(await reader.lastSeq('ses_list_done'));

    // The table: aligned columns, the status says what can be done.
    const table = await cli(['sessions', 'list']);
    expect(table.code, describeResult(table)).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n') as [string, ...string[]];
    expect(header).toMatch(/^SESSION +STATUS +WORKFLOW +COST +EVENTS +AGE +LAST EVENT$/);
    expect(rows[0]).toMatch(
      /^ses_list_cut +interrupted \(resumable\) +hello +\$\d+\.\d{4} sim +\d+ +\d+(?:ms|[smhd]) +\d+(?:ms|[smhd])$/,
    );
    for (const column of ['STATUS', 'WORKFLOW', 'COST']) {
      const at = header.indexOf(column);
      for (const row of rows) expect(row[at - 1], `${column} column of ${row}`).toBe(' ');
    }

    // Filters.
    expect((await list('--status', 'interrupted,failed')).map((s) => s.sessionId)).toEqual([
      'ses_list_cut',
      'ses_list_failed',
    ]);
    expect((await list('--workflow', 'hello', '--limit', '1')).map((s) => s.sessionId)).toEqual(['ses_list_cut']);
    expect(await list('--workflow', 'nope')).toEqual([]);
    // The same search as the API's `?q=`: id or workflow name, any case.
    expect((await list('--search', 'LIST_CUT')).map((s) => s.sessionId)).toEqual(['ses_list_cut']);
    expect((await list('--search', 'HELL', '--limit', '1')).map((s) => s.sessionId)).toEqual(['ses_list_cut']);
    expect(await list('--search', 'no-such-text')).toEqual([]);
    const bad = await cli(['sessions', 'list', '--status', 'sleeping']);
    expect(bad.code, describeResult(bad)).toBe(2);
    expect(bad.stderr).toContain('--status expects one or more of running, awaiting_input, paused, interrupted');
  });

  it('resumes the interrupted session with the scenario its run was given, and logs to ORCHESTRATOR_MODEL_LOG', {
    timeout: 120_000,
  }, async () => {
    const file = path.join(tmp.dir, 'resume-log.jsonl');
    const resumed = await cli(['sessions', 'resume', 'ses_list_cut'], { ORCHESTRATOR_MODEL_LOG: file });
    expect(resumed.code, describeResult(resumed)).toBe(0);
    expect(resumed.stdout).toContain('custom.yaml');
    const lines = (await readLog(file)).filter((line) => line.path === '/v1/messages');
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines.map((line) => line.scenario))).toEqual(new Set(['custom']));

    const events = await reader.events('ses_list_cut');
    const created = events.find((e) => e.type === 'session.created');
    const again = events.find((e) => e.type === 'session.resumed');
    for (const event of [created, again]) {
      expect((event?.data as { model?: unknown } | undefined)?.model).toEqual({
        kind: 'scripted',
        scenario: custom,
        scenarioSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        scenarioName: 'custom',
      });
    }
    const outputs = events.flatMap((e) => (e.type === 'node.completed' ? [JSON.stringify(e.data.output)] : []));
    expect(outputs.join('\n')).toContain('CUSTOM-SCENARIO');
    expect(outputs.join('\n')).not.toContain('BESIDE-SCENARIO');
    expect((await list('--status', 'completed')).map((s) => s.sessionId)).toEqual(['ses_list_cut', 'ses_list_done']);
  });
});

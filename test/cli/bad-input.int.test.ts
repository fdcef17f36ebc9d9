import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentProcesses, describeResult, REPO_ROOT, runCli, tempDir } from '../support/cli-kit.ts';

// Bad input reaches the user as a message naming what is wrong and where, with exit code 2,
// before anything starts.

const CYCLE = 'test/fixtures/workflows/cycle.yaml';
const UNKNOWN_FIELD = 'test/fixtures/cli/unknown-field.yaml';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
beforeAll(async () => {
  tmp = await tempDir('bad-input');
  dataDir = path.join(tmp.dir, 'data');
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** The 1-based line of the first line of a fixture that contains `text`. */
async function lineOf(file: string, text: string): Promise<number> {
  const lines = (await readFile(path.join(REPO_ROOT, file), 'utf8')).split('\n');
  const index = lines.findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`${file} has no line with ${text}`);
  return index + 1;
}

describe('orchestrator validate', () => {
  it('accepts the example workflows (exit 0)', async () => {
    const result = await runCli(['validate', 'examples/hello/workflow.yaml', 'examples/feature-team/workflow.yaml'], {
      dataDir,
    });
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toContain(
      'examples/feature-team/workflow.yaml: ok (workflow feature-team, 6 nodes, 4 agent types)',
    );
  });

  it('names every cycle with its nodes, file and line (exit 2)', async () => {
    const result = await runCli(['validate', CYCLE], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    const first = await lineOf(CYCLE, 'id: first');
    const x = await lineOf(CYCLE, 'id: x');
    expect(result.stderr).toMatch(
      new RegExp(`${CYCLE}:${first}:\\d+ .*dependency cycle: first -> second -> third -> first`),
    );
    expect(result.stderr).toMatch(new RegExp(`${CYCLE}:${x}:\\d+ .*dependency cycle: x -> y -> x`));
    // The node outside any cycle is not blamed.
    expect(result.stderr).not.toMatch(/lone/);
  });

  it('names the file, line and field of an unknown field (exit 2)', async () => {
    const result = await runCli(['validate', UNKNOWN_FIELD], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    const line = await lineOf(UNKNOWN_FIELD, 'dependson:');
    expect(result.stderr).toMatch(
      new RegExp(`${UNKNOWN_FIELD}:${line}:\\d+\\s+nodes\\[0\\]\\.dependson\\s+unknown field 'dependson'`),
    );
  });

  it('with --json prints one JSON line per file, problems with file, line and path (exit 2)', async () => {
    const result = await runCli(['validate', 'examples/feature-team/workflow.yaml', CYCLE, '--json'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({
      file: 'examples/feature-team/workflow.yaml',
      ok: true,
      workflow: 'feature-team',
      nodes: 6,
      agentTypes: 4,
    });
    expect(lines[1]).toMatchObject({ file: CYCLE, ok: false, error: { code: 'WORKFLOW_INVALID' } });
    expect(lines[1].error.details.problems[0]).toMatchObject({ file: CYCLE, path: 'nodes[0].dependsOn[0]' });
  });

  it('checks every file and fails when one is bad', async () => {
    const result = await runCli(['validate', UNKNOWN_FIELD, 'examples/hello/workflow.yaml'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stdout).toContain('examples/hello/workflow.yaml: ok');
    expect(result.stderr).toContain(UNKNOWN_FIELD);
  });
});

describe('orchestrator run with bad input', () => {
  it('rejects an unknown --input before starting anything (exit 2)', async () => {
    const dataDir = path.join(tmp.dir, 'unknown-input');
    const result = await runCli(['run', 'examples/hello/workflow.yaml', '--input', 'colour=red'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('error [INVALID_ARGUMENT]: invalid inputs for workflow hello');
    expect(result.stderr).toContain('colour: unknown input (declared: topic)');
    // No model server, no store, no agent: the data directory was not even created.
    expect(result.stdout).not.toContain('model:');
    expect(existsSync(dataDir)).toBe(false);
    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  it('rejects an --input without a value separator (exit 2)', async () => {
    const dataDir = path.join(tmp.dir, 'no-separator');
    const result = await runCli(['run', 'examples/hello/workflow.yaml', '-i', 'topic'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('--input expects NAME=VALUE, got "topic"');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('rejects an --answer without a value separator before starting anything (exit 2)', async () => {
    const dataDir = path.join(tmp.dir, 'answer-no-separator');
    const result = await runCli(['run', 'examples/feature-team/workflow.yaml', '-a', 'ship'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('--answer expects NAME=VALUE, got "ship"');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('rejects an --answer for a node that asks nothing, naming the ones that ask (exit 2)', async () => {
    const dataDir = path.join(tmp.dir, 'answer-unknown-node');
    const result = await runCli(['run', 'examples/feature-team/workflow.yaml', '-a', 'nonode=yes'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain(
      'the workflow has no human or approval node "nonode"; the nodes that ask are: ship',
    );
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('orchestrator sessions with an unknown id', () => {
  it('show says there is no such session (exit 2)', async () => {
    const result = await runCli(['sessions', 'show', 'ses_does_not_exist'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toBe('error [SESSION_NOT_FOUND]: no session "ses_does_not_exist" in the sqlite store\n');
    expect(result.stdout).toBe('');
  });

  it('resume says there is no such session (exit 2)', async () => {
    const result = await runCli(['sessions', 'resume', 'ses_does_not_exist'], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain('error [SESSION_NOT_FOUND]: no session "ses_does_not_exist"');
  });
});

describe('a store or configuration that cannot be used', () => {
  it('names a data directory that is a file (exit 3), for run and for the session verbs', async () => {
    const file = path.join(tmp.dir, 'a-file');
    await writeFile(file, 'not a folder');
    const run = await runCli(['run', 'examples/hello/workflow.yaml'], { dataDir: file });
    expect(run.code, describeResult(run)).toBe(3);
    expect(run.stderr).toContain(
      `error [CONFIG_INVALID]: the data directory ${file} cannot be used (it is not a folder)`,
    );
    expect(run.stderr).not.toContain('INTERNAL');
    const list = await runCli(['sessions', 'list'], { dataDir: file });
    expect(list.code, describeResult(list)).toBe(3);
    expect(list.stderr).toContain('error [STORE_UNAVAILABLE]');
  });

  it('reports an invalid setting as a configuration error (exit 3)', async () => {
    const result = await runCli(['sessions', 'list'], { dataDir, env: { ORCHESTRATOR_MAX_AGENTS: 'abc' } });
    expect(result.code, describeResult(result)).toBe(3);
    expect(result.stderr).toContain('maxConcurrentAgents (ORCHESTRATOR_MAX_AGENTS)');
  });

  it('names an import file that does not exist as bad input (exit 2)', async () => {
    const missing = path.join(tmp.dir, 'missing.jsonl');
    const result = await runCli(['sessions', 'import', missing], { dataDir });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toContain(`error [IMPORT_INVALID]: ${missing}: no such file`);
  });
});

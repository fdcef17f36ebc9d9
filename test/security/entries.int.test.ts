import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { loadWorkflowFile } from '../../src/workflow/index.ts';
import { describeResult, REPO_ROOT, runCli, tempDir } from '../support/cli-kit.ts';
import { caseReport, errorOf } from './report.ts';
import { listTree } from './tree.ts';

// Every entry that takes a session id, through the real CLI (a child process) and the
// library: an id that is a path is refused with INVALID_ARGUMENT naming the flag and the rule,
// a hostile import file with IMPORT_INVALID or IMPORT_REFUSED saying how to allow it, and on
// disk nothing is created or removed outside the data directory.

const report = caseReport('entries');
const HELLO = path.join(REPO_ROOT, 'examples', 'hello', 'workflow.yaml');
let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
/** Where `../../../<escapeName>` from `<dataDir>/workspaces` would land: the system's tmp folder. */
let escapeName: string;
let outside: string;
let exported: string[];

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Nothing under the test folder outside the data directories changed, and nothing escaped to tmp. */
async function assertNothingOutside(before: string[]): Promise<void> {
  const now = (await listTree(tmp.dir)).filter((p) => !/^data\d?\//.test(p));
  expect(now).toEqual(before);
  expect(await exists(path.join(tmpdir(), escapeName))).toBe(false);
  expect(await exists(path.join(tmpdir(), `${escapeName}.git`))).toBe(false);
  expect(await readFile(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep me\n');
}

beforeAll(async () => {
  tmp = await tempDir('hostile-entries');
  dataDir = path.join(tmp.dir, 'data');
  escapeName = `orch-escapeName-${randomBytes(4).toString('hex')}`;
  outside = path.join(tmp.dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'keep.txt'), 'keep me\n');
  const run = await runCli(['run', HELLO, '--session', 'ses_ok'], { dataDir });
  expect(run.code, describeResult(run)).toBe(0);
  const file = path.join(tmp.dir, 'ses_ok.jsonl');
  const out = await runCli(['sessions', 'export', 'ses_ok', '-o', file], { dataDir });
  expect(out.code, describeResult(out)).toBe(0);
  exported = (await readFile(file, 'utf8')).trimEnd().split('\n');
}, 120_000);
afterAll(async () => {
  report.print();
  await tmp?.cleanup();
});

const hostile = () => `../../../${escapeName}`;
const fileWith = async (name: string, lines: string[]) => {
  const file = path.join(tmp.dir, 'files', `${name}.jsonl`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, lines.join('\n'));
  return file;
};
const header = () => JSON.parse(exported[0] as string) as Record<string, unknown>;
/** A format 1 export whose workflow definition starts an MCP server by command. */
const mcpFile = () => {
  const definition = { name: 'x', agents: { a: { mcpServers: { m: { command: 'sh', args: ['-c', 'id'] } } } } };
  const event = { id: 'e1', sessionId: 'ses_mcp', seq: 1, ts: new Date(0).toISOString(), source: 't' };
  return [
    JSON.stringify({
      format: 'ai-orchestrator/session',
      formatVersion: 1,
      sessionId: 'ses_mcp',
      events: 1,
      exportedAt: 'x',
    }),
    JSON.stringify({ ...event, type: 'workflow.started', data: { workflowId: 'w', name: 'x', definition } }),
  ];
};

describe('the command line', () => {
  const cases: Array<[string, () => Promise<string[]>, string, RegExp, string?]> = [
    [
      'run --session',
      async () => ['run', HELLO, '--session', hostile()],
      'INVALID_ARGUMENT',
      /--session must be a safe name/,
    ],
    [
      'run --session (absolute)',
      async () => ['run', HELLO, '--session', `/tmp/${escapeName}`],
      'INVALID_ARGUMENT',
      /--session must be a safe name/,
    ],
    [
      'sessions fork --as',
      async () => ['sessions', 'fork', 'ses_ok', '--as', hostile()],
      'INVALID_ARGUMENT',
      /--as must be a safe name/,
    ],
    [
      'sessions import --as',
      async () => ['sessions', 'import', await fileWith('plain', exported), '--as', hostile()],
      'INVALID_ARGUMENT',
      /--as must be a safe name/,
    ],
    [
      'sessions resume of a path',
      async () => ['sessions', 'resume', hostile()],
      'INVALID_ARGUMENT',
      /sessionId must be a safe name/,
    ],
    [
      'sessions import of a file whose id is a path',
      async () => [
        'sessions',
        'import',
        await fileWith('id', [JSON.stringify({ ...header(), sessionId: hostile() }), ...exported.slice(1)]),
      ],
      'IMPORT_INVALID',
      /header\.sessionId: a session id must be a safe name/,
    ],
    [
      'sessions import of a file whose workspace is outside',
      async () => [
        'sessions',
        'import',
        await fileWith('workspace', [
          JSON.stringify({ ...header(), workspace: { path: outside, inDataDir: false } }),
          ...exported.slice(1),
        ]),
      ],
      'IMPORT_REFUSED',
      /is outside the data directory .*--workspace-root DIR/,
      'data2',
    ],
    [
      'sessions import of a file whose agents start MCP commands',
      async () => ['sessions', 'import', await fileWith('mcp', mcpFile())],
      'IMPORT_REFUSED',
      /start 1 MCP server\(s\) by command .*--trust-mcp/,
      'data2',
    ],
  ];
  it.each(cases)(
    'refuses %s (exit 2), creating nothing outside the data directory',
    { timeout: 60_000 },
    async (name, args, code, message, data) => {
      const before = (await listTree(tmp.dir)).filter((p) => !/^data\d?\//.test(p));
      const argv = await args();
      const after = (await listTree(tmp.dir)).filter((p) => !/^data\d?\//.test(p));
      const result = await runCli(argv, { dataDir: data ? path.join(tmp.dir, data) : dataDir });
      expect(result.code, describeResult(result)).toBe(2);
      expect(result.stderr).toContain(`error [${code}]`);
      expect(result.stderr).toMatch(message);
      expect(after.length).toBeGreaterThanOrEqual(before.length);
      await assertNothingOutside(after);
      report.note(name, 'refused', result.stderr.trim().split('\n')[0]);
    },
  );

  it('imports the workspace once the operator allows its folder (--workspace-root)', { timeout: 60_000 }, async () => {
    const file = await fileWith('allowed', [
      JSON.stringify({ ...header(), workspace: { path: path.join(outside, 'repo'), inDataDir: false } }),
      ...exported.slice(1),
    ]);
    const result = await runCli(['sessions', 'import', file, '--workspace-root', outside, '--json'], {
      dataDir: path.join(tmp.dir, 'data3'),
    });
    expect(result.code, describeResult(result)).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ sessionId: 'ses_ok', workspace: path.join(outside, 'repo') });
    report.note('sessions import --workspace-root', 'imported');
    const trusted = await runCli(['sessions', 'import', await fileWith('mcp-trusted', mcpFile()), '--trust-mcp'], {
      dataDir: path.join(tmp.dir, 'data3'),
    });
    expect(trusted.code, describeResult(trusted)).toBe(0);
    report.note('sessions import --trust-mcp', 'imported');
  });
});

describe('the library', () => {
  it('refuses ids that are paths at startWorkflow, resumeSession and forkSession', { timeout: 60_000 }, async () => {
    const orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir, logLevel: 'silent' }, {}),
      scenario: path.join(REPO_ROOT, 'examples', 'hello', 'scenario.yaml'),
    });
    const before = (await listTree(tmp.dir)).filter((p) => !/^data\d?\//.test(p));
    try {
      const workflow = await loadWorkflowFile(HELLO);
      const attempts: Array<[string, () => Promise<unknown>, RegExp]> = [
        [
          'startWorkflow({ sessionId })',
          () => orchestrator.startWorkflow(workflow, { sessionId: hostile() }),
          /^sessionId must be a safe name/,
        ],
        ['resumeSession(id)', () => orchestrator.resumeSession(hostile()), /^sessionId must be a safe name/],
        [
          'forkSession({ as })',
          () => orchestrator.forkSession('ses_ok', { latest: true }, { as: hostile() }),
          /^as must be a safe name/,
        ],
        [
          'sessions.import({ as })',
          () => orchestrator.sessions.import(path.join(tmp.dir, 'ses_ok.jsonl'), { as: '..' }),
          /^as must be a safe name/,
        ],
      ];
      for (const [name, attempt, message] of attempts) {
        const error = await errorOf(attempt);
        expect(error, name).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
        report.note(name, 'refused', error.message);
      }
    } finally {
      await orchestrator.close();
    }
    await assertNothingOutside(before);
  });
});

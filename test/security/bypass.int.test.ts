import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentSpec } from '../../src/agents/index.ts';
import { ORCHESTRATOR_MCP_SERVER } from '../../src/agents/index.ts';
import { BUILT_IN_TOOLS } from '../../src/security/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// The bypasses of the former hand-written policy, each tried for real (the real SDK and Claude
// Code, the scripted model calling the tools) and checked on disk: nothing is written outside
// the workspace, nothing the rules deny happens inside it.

let outside: string;
let kit: AgentKit;
let runtime: AgentRuntime;

const bash = (command: string) => ({ tool_use: { name: 'Bash', input: { command, description: 'run it' } } });
const write = (file_path: string) => ({ tool_use: { name: 'Write', input: { file_path, content: 'escaped\n' } } });
const script = (name: string, calls: object[]) => ({
  name,
  match: { user: `^${name}$` },
  turns: [...calls.map((call) => ({ content: [call] })), { content: [{ text: 'Done: {{last_tool_result}}' }] }],
});

beforeAll(async () => {
  // The target of every escape: a folder outside any workspace, made before the scenario names it.
  outside = await mkdtemp(join(tmpdir(), 'orch-outside-'));
  for (const name of ['a', 'b', 'c', 'd']) await mkdir(join(outside, name));
  await writeFile(join(outside, 'secret.txt'), 'TOP-SECRET-VALUE\n');
  const scenario = {
    name: 'bypasses',
    scripts: [
      script('tsc-redirect', [bash(`npx tsc --version > ${outside}/tsc.txt`)]),
      script('rm-variants', [
        bash('/bin/rm -rf victim-a'),
        bash('env rm -rf victim-b'),
        bash('command rm -rf victim-c'),
        bash('x=1 rm -rf victim-d'),
        bash(`/bin/rm -rf ${outside}/a`),
      ]),
      script('echo-outside', [bash(`echo X > ${outside}/echo.txt; echo still here`), bash('echo inside > inside.txt')]),
      script('symlink', [
        bash('ln -s / escape'),
        write(`escape${outside}/link.txt`),
        write(`${outside}/direct.txt`),
        bash(`echo X > escape${outside}/link-bash.txt`),
      ]),
      script('no-tools', [bash('touch pwned.txt')]),
      script('read-outside', [
        { tool_use: { name: 'Read', input: { file_path: `${outside}/secret.txt` } } },
        bash(`cat ${outside}/secret.txt; echo rc=$?`),
        bash('cat mine.txt'),
      ]),
    ],
  };
  kit = await startAgentKit({ scenario: JSON.stringify(scenario) });
  runtime = kit.runtime({ maxConcurrent: 2 });
});

afterAll(async () => {
  await kit?.cleanup();
  await rm(outside, { recursive: true, force: true });
});

async function run(prompt: string, spec: Partial<AgentSpec>, prepare?: (cwd: string) => Promise<void>) {
  const sessionId = kit.session();
  const cwd = await kit.workspace(prompt);
  await prepare?.(cwd);
  const result = await runtime.spawn({ sessionId, spec: testSpec(spec), prompt, cwd }).result;
  const events = await kit.events(sessionId);
  return { result, cwd, events, decisions: dataOf(events, 'security.decision') };
}

/** Every entry below the outside folder: only the four folders made before the tests. */
function outsideEntries(): string[] {
  return readdirSync(outside, { recursive: true }).map(String).sort();
}

describe('bypasses of the former policy, tried for real', () => {
  it('allowed only `Bash(npx tsc *)`: a redirection outside the workspace is refused', async () => {
    const { decisions } = await run('tsc-redirect', { tools: ['Bash(npx tsc *)'] });
    expect(existsSync(join(outside, 'tsc.txt'))).toBe(false);
    // Claude Code's parser saw the redirection and asked; the path is outside: denied.
    expect(decisions).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        decision: 'deny',
        by: 'policy',
        reason: expect.stringContaining('outside'),
      }),
    ]);
  });

  it('denied `Bash(rm *)`: /bin/rm, env rm, command rm and x=1 rm are all refused by Claude Code', async () => {
    const { cwd, decisions } = await run(
      'rm-variants',
      { tools: ['Bash'], disallowedTools: ['Bash(rm *)'] },
      async (ws) => {
        for (const name of ['victim-a', 'victim-b', 'victim-c', 'victim-d']) await mkdir(join(ws, name));
      },
    );
    // Inside the workspace the sandbox would let rm through: only the deny rule stops it.
    for (const name of ['victim-a', 'victim-b', 'victim-c', 'victim-d']) expect(existsSync(join(cwd, name))).toBe(true);
    expect(existsSync(join(outside, 'a'))).toBe(true);
    expect(decisions.map((d) => [d.tool, d.decision, d.by])).toEqual(Array(5).fill(['Bash', 'deny', 'claude-code']));
  });

  it('`echo X > /outside/file` under the sandbox: the write fails, the workspace stays writable', async () => {
    const { cwd, result, events } = await run('echo-outside', {});
    expect(existsSync(join(outside, 'echo.txt'))).toBe(false);
    expect(existsSync(join(cwd, 'inside.txt'))).toBe(true);
    expect(dataOf(events, 'agent.tool_result')[0]?.content).toContain('Read-only file system');
    expect(result.ok).toBe(true);
    expect(dataOf(events, 'security.policy')).toEqual([expect.objectContaining({ tools: 'all', sandbox: 'on' })]);
    expect(dataOf(events, 'security.decision').map((d) => [d.decision, d.by])).toEqual([
      ['allow', 'sandbox'],
      ['allow', 'sandbox'],
    ]);
  });

  it('`ln -s / escape`, then Write through the link: judged by where it leads, refused', async () => {
    const { cwd, decisions } = await run('symlink', { tools: ['Bash', 'Write'] });
    expect(existsSync(join(cwd, 'escape'))).toBe(true);
    expect(existsSync(join(outside, 'link.txt'))).toBe(false);
    expect(existsSync(join(outside, 'direct.txt'))).toBe(false);
    expect(existsSync(join(outside, 'link-bash.txt'))).toBe(false);
    expect(decisions.filter((d) => d.tool === 'Write')).toEqual([
      expect.objectContaining({ decision: 'deny', by: 'claude-code', reason: expect.stringContaining('symlink') }),
      expect.objectContaining({ decision: 'deny', by: 'claude-code', reason: expect.stringContaining('outside') }),
    ]);
  });

  it('`tools: []`: Claude Code starts the agent with no built-in tool at all', async () => {
    const { cwd, result, events } = await run('no-tools', { tools: [] });
    const init = dataOf(events, 'agent.progress').find((d) => d.kind === 'init');
    expect(init?.tools).toEqual([]);
    expect(existsSync(join(cwd, 'pwned.txt'))).toBe(false);
    expect(result.ok && result.text).toContain('No such tool available: Bash');
    expect(BUILT_IN_TOOLS).toContain('Bash');
  });

  it("keeps the orchestrator's tools and StructuredOutput with `tools: []`", async () => {
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: [] }),
      prompt: 'no-tools',
      cwd: await kit.workspace('no-tools-host'),
      outputSchema: { type: 'object', properties: { a: { type: 'number' } } },
      toolHost: { memoryGet: async () => undefined, memorySet: async () => undefined, memoryList: async () => [] },
    }).result;
    expect(result.ok).toBe(false); // the script gives no structured output; what exists is the point
    const init = dataOf(await kit.events(sessionId), 'agent.progress').find((d) => d.kind === 'init');
    const tools = init?.tools as string[];
    expect(tools).toContain('StructuredOutput');
    expect(tools.filter((t) => !t.startsWith(`mcp__${ORCHESTRATOR_MCP_SERVER}__`))).toEqual(['StructuredOutput']);
  });

  it('reads outside the workspace: open by default, refused to file tools and commands with `confine.reads`', async () => {
    const prepare = (ws: string) => writeFile(join(ws, 'mine.txt'), 'mine\n');
    const open = await run('read-outside', { tools: ['Bash', 'Read'] }, prepare);
    const results = (events: typeof open.events) => dataOf(events, 'agent.tool_result').map((d) => String(d.content));
    // Without confined reads, the `Read` allow rule covers any path, and the sandbox confines writes only.
    expect(open.decisions[0]).toMatchObject({ tool: 'Read', decision: 'allow', by: 'claude-code' });
    expect(results(open.events)[1]).toContain('TOP-SECRET-VALUE');

    const confined = await run('read-outside', { tools: ['Bash', 'Read'], confine: { reads: true } }, prepare);
    expect(confined.decisions[0]).toMatchObject({ tool: 'Read', decision: 'deny', by: 'claude-code' });
    const [, cat, mine] = results(confined.events);
    expect(cat).not.toContain('TOP-SECRET-VALUE');
    expect(cat).toContain('No such file');
    expect(mine).toContain('mine');
    expect(dataOf(confined.events, 'security.policy')[0]).toMatchObject({ confineReads: true, sandbox: 'on' });
  });

  it('wrote nothing outside the workspace in any of the cases above', () => {
    expect(outsideEntries()).toEqual(['a', 'b', 'c', 'd', 'secret.txt']);
  });
});

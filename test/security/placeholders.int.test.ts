import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkspaceHistory } from '../../src/workspace/index.ts';
import { type AgentKit, startAgentKit, testSpec, waitFor } from '../support/agent-kit.ts';

// Claude Code's sandbox places empty read-only files in the working directory while a command
// runs (.bashrc, .mcp.json, .claude/settings.json, ...). A version recorded at that moment (a
// node finishing beside one that runs a command in the same workspace) must not take them:
// tried with the real sandbox, recording while the command sleeps.

let kit: AgentKit;
beforeAll(async () => {
  const scenario = {
    name: 'placeholders',
    scripts: [
      {
        turns: [
          { content: [{ tool_use: { name: 'Bash', input: { command: 'sleep 4; echo slept', description: 'nap' } } }] },
          'Done: {{last_tool_result}}',
        ],
      },
    ],
  };
  kit = await startAgentKit({ scenario: JSON.stringify(scenario) });
});
afterAll(async () => {
  await kit?.cleanup();
});

describe('a version recorded while a sandboxed command runs in the workspace', () => {
  it("holds the workspace's files, not the sandbox's placeholders", { timeout: 60_000 }, async () => {
    const workspace = await kit.workspace('shared');
    await writeFile(path.join(workspace, 'a.txt'), 'one\n');
    const history = new WorkspaceHistory(await mkdtemp(path.join(path.dirname(workspace), 'history-')));
    const run = kit.runtime().spawn({ sessionId: kit.session(), spec: testSpec(), prompt: 'nap', cwd: workspace });
    // The placeholders are there while the command sleeps (not all at the same instant: the
    // settings file can come a moment before the sandbox's .bashrc).
    const placed = () =>
      existsSync(path.join(workspace, '.claude', 'settings.json')) && existsSync(path.join(workspace, '.bashrc'));
    expect(await waitFor(placed, 20_000)).toBe(true);
    const commit = await history.record('ses_1', workspace, 'seq 1');
    const result = await run.result;
    expect(result.ok && result.text).toContain('slept');
    const recorded = execFileSync(
      'git',
      [`--git-dir=${history.folder('ses_1')}`, 'ls-tree', '-r', '--name-only', commit],
      {
        encoding: 'utf8',
      },
    );
    expect(recorded.split('\n').filter(Boolean)).toEqual(['a.txt']);
  });
});

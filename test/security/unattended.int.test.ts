import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { describeResult, parseJsonLines, runCli, tempDir } from '../support/cli-kit.ts';

// An unattended `orchestrator run` (standard input not a terminal, or --yes) approves approval
// nodes by itself, but never a tool call an ask rule holds for a human: that one waits for
// `sessions answer`, and unanswered within its timeout the call is denied. Otherwise every CI run
// would lift every ask rule. Nor can --answer approve it: it names human and approval nodes only.

const WORKFLOW = `
name: unattended
agents:
  pusher:
    systemPrompt: "You are the pusher."
    tools: [Bash]
    permissions: { ask: ["Bash(touch *)"], askTimeout: 2s }
nodes:
  - { id: push, agent: pusher, task: "Push it" }
  - { id: ship, kind: approval, dependsOn: [push], prompt: "Ship it?" }
`;

const SCENARIO = `
name: unattended
scripts:
  - match: { user: "Push it" }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: "touch pushed.txt", description: "push" } }
      - "Done: {{last_tool_result}}"
`;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let workflow: string;
beforeAll(async () => {
  tmp = await tempDir('unattended');
  workflow = path.join(tmp.dir, 'unattended.yaml');
  await writeFile(workflow, WORKFLOW);
  await writeFile(path.join(tmp.dir, 'unattended.scenario.yaml'), SCENARIO);
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('an unattended run', () => {
  it.each([
    ['standard input not a terminal', []],
    ['--yes', ['--yes']],
  ])('with %s approves the approval node, never the tool call', { timeout: 120_000 }, async (name, flags) => {
    const dataDir = path.join(tmp.dir, `data-${name.replaceAll(/\W+/g, '-')}`);
    const result = await runCli(['run', workflow, ...flags], { dataDir });
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toMatch(/\(a tool approval: answer it with `orchestrator sessions answer \S+ \S+ yes\|no`/);
    expect(result.stdout).toContain('(auto-approved: standard input is not a terminal, or --yes was given)');
    const sessionId = /\(session (\S+)\)$/m.exec(result.stdout)?.[1] as string;
    const workspace = /^workspace: (.+)$/m.exec(result.stdout)?.[1] as string;
    expect(existsSync(path.join(workspace, 'pushed.txt'))).toBe(false);

    const listed = await runCli(['events', sessionId, '--json'], { dataDir });
    const events = parseJsonLines(listed.stdout) as AnyEvent[];
    const decisions = events.flatMap((e) => (e.type === 'security.decision' ? [e.data] : []));
    expect(decisions.map((d) => [d.tool, d.decision, d.by])).toEqual([
      ['Bash', 'ask', 'policy'],
      ['Bash', 'deny', 'policy'],
    ]);
    const answers = events.flatMap((e) => (e.type === 'user.input' ? [e.data] : []));
    // One answer only: the approval node's, by the CLI. The tool's question was closed unanswered.
    expect(answers).toEqual([expect.objectContaining({ value: expect.objectContaining({ approved: true }) })]);
    expect(events.filter((e) => e.type === 'input.closed')).toHaveLength(1);
  });

  it('refuses an --answer for the agent node whose tool call would wait (only human and approval nodes take one)', async () => {
    const result = await runCli(['run', workflow, '--answer', 'push=yes'], {
      dataDir: path.join(tmp.dir, 'data-answer'),
    });
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stderr).toMatch(
      /error \[INVALID_ARGUMENT\]: --answer push=\.\.\.: the workflow has no human or approval node "push"/,
    );
  });
});

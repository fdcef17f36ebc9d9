import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import {
  agentProcesses,
  describeResult,
  FEATURE_TEAM_NODES,
  HELLO,
  parseJsonLines,
  runCli,
  tempDir,
} from '../support/cli-kit.ts';
import { sequenceProblems } from './log-checks.ts';

// The README's demo, end to end: the real CLI in a child process, real Claude Code agents
// through the real SDK, against the scripted model server (no ANTHROPIC_API_KEY).

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('demo');
});
afterAll(async () => {
  await tmp?.cleanup();
});

async function sessionEvents(dataDir: string, sessionId: string): Promise<AnyEvent[]> {
  const result = await runCli(['events', sessionId, '--json'], { dataDir });
  expect(result.code, describeResult(result)).toBe(0);
  return parseJsonLines(result.stdout) as AnyEvent[];
}

describe('orchestrator run examples/feature-team/workflow.yaml', () => {
  it('completes offline with the scripted model, auto-approves, and leaves the team’s files in the workspace', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'text');
    // As the README says it, from the repository root.
    const result = await runCli(['run', 'examples/feature-team/workflow.yaml'], { dataDir });
    expect(result.code, describeResult(result)).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(
      /^model: offline scripted model server at http:\/\/127\.0\.0\.1:\d+ \(no ANTHROPIC_API_KEY is set; scenario examples\/feature-team\/scenario\.yaml\)$/m,
    );
    expect(out).toContain('(auto-approved: standard input is not a terminal, or --yes was given)');
    expect(out).toMatch(/^✔ workflow completed$/m);

    const workspace = /^workspace: (.+)$/m.exec(out)?.[1];
    const sessionId = /\(session (\S+)\)$/m.exec(out)?.[1];
    expect(workspace, out).toBeDefined();
    expect(sessionId, out).toBeDefined();
    const read = (file: string) => readFile(path.join(workspace as string, file), 'utf8');
    expect(await read('PLAN.md')).toContain('# Plan: CSV parser');
    // The doc comment is the run-time fix-up node's work, on top of the coder's file.
    expect(await read('src/csv.ts')).toContain(
      '/** Parses RFC 4180 CSV text into rows of fields. */\nexport function parseCsv(text: string): string[][] {',
    );
    expect(await read('test/csv.test.ts')).toContain("import { parseCsv } from '../src/csv.ts';");

    const events = await sessionEvents(dataDir, sessionId as string);
    expect(sequenceProblems(events)).toEqual([]);
    const modified = events.filter((e) => e.type === 'workflow.modified');
    expect(modified).toHaveLength(1);
    expect(modified[0]?.data).toMatchObject({
      by: expect.stringMatching(/^agent:/),
      changes: [{ op: 'add_nodes', nodes: [{ id: 'fixup' }] }],
    });
    const completions = events.flatMap((e) => (e.type === 'node.completed' ? [e.data.nodeId] : []));
    expect(completions.toSorted()).toEqual([...FEATURE_TEAM_NODES].sort());
    const finals = events.filter((e) => e.type === 'workflow.completed');
    expect(finals.map((e) => e.data.status)).toEqual(['completed']);
    expect(events.at(-1)?.type).toBe('workflow.completed');
    const approval = events.find((e) => e.type === 'user.input');
    expect(approval?.data.value).toMatchObject({ approved: true });

    // The demo runs confined (README, Security): every agent ran under a recorded policy, the
    // coders' Bash in Claude Code's sandbox with no network (it started: `failIfUnavailable`),
    // the others without Bash at all; nobody opted out.
    const spawned = events.flatMap((e) => (e.type === 'agent.spawned' ? [e.data.agentId] : []));
    const policies = events.flatMap((e) => (e.type === 'security.policy' ? [e.data] : []));
    expect(policies.map((p) => p.agentId).toSorted()).toEqual(spawned.toSorted());
    for (const policy of policies) {
      const bash = policy.tools === 'all' || policy.tools.includes('Bash');
      expect(policy, policy.agentType).toMatchObject(
        bash ? { sandbox: 'on', allowedDomains: [] } : { sandbox: 'off', sandboxOff: 'no Bash tool' },
      );
      expect(policy.tools, policy.agentType).not.toBe('all');
    }
    expect(policies.filter((p) => p.sandbox === 'on').map((p) => p.agentType)).toEqual(['coder', 'coder', 'coder']);

    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  // Not about the demo: the two-agent hello example prints the same kinds of events for a
  // third of the agent processes.
  it('prints only JSON lines on stdout with --json: the events of the log, in order', {
    timeout: 120_000,
  }, async () => {
    const dataDir = path.join(tmp.dir, 'json');
    const sessionId = 'ses_cli_demo_json';
    const result = await runCli(['run', HELLO, '--json', '--session', sessionId], { dataDir });
    expect(result.code, describeResult(result)).toBe(0);
    // Notices go to stderr so that stdout stays machine-readable.
    expect(result.stderr).toContain('model: offline scripted model server');
    const printed = parseJsonLines(result.stdout) as AnyEvent[];
    expect(printed.length).toBeGreaterThan(0);
    expect(printed.every((e) => e.sessionId === sessionId)).toBe(true);
    const logged = await sessionEvents(dataDir, sessionId);
    expect(printed.map((e) => `${e.seq} ${e.type} ${e.id}`)).toEqual(logged.map((e) => `${e.seq} ${e.type} ${e.id}`));
    expect(printed.at(-1)).toMatchObject({ type: 'workflow.completed', data: { status: 'completed' } });
  });
});

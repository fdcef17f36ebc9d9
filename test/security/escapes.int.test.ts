import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentResult } from '../../src/agents/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { parseScenario } from '../../src/model-server/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';
import { bashGroups } from './escapes/bash-cases.ts';
import { type CaseGroup, judge, toolTurn } from './escapes/judge.ts';
import { fingerprint, type Ground, makeGround, Targets } from './escapes/layout.ts';
import { type SecretsProbe, startSecretsProbe } from './escapes/secrets.ts';
import { toolGroups } from './escapes/tool-cases.ts';
import { caseReport } from './report.ts';
import { listTree } from './tree.ts';

// Escapes tried for real: scripted agents on the real SDK and Claude Code, each tool call one
// attempt (many per process), judged on disk: nothing outside the workspace created, changed,
// deleted or read; no request reaches a server the sandbox should keep the agent from; every
// refusal audited. Then planted secrets and oversized payloads through the whole CLI
// (escapes/secrets.ts). Every case prints how it ended; the suite prints its totals.

const report = caseReport('escapes');
/** Outcomes by category, for the grand total. */
const tally = new Map<string, Map<string, number>>();
function note(category: string, name: string, outcome: string, detail: string, ground?: Ground) {
  const shown = ground ? detail.replaceAll(ground.base, '<base>').replaceAll(ground.home, '<home>') : detail;
  report.note(`${category}: ${name}`, outcome, shown);
  const counts = tally.get(category) ?? new Map<string, number>();
  counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  tally.set(category, counts);
}

interface GroupRun {
  readonly group: CaseGroup;
  readonly workspace: string;
  readonly result: AgentResult;
  readonly events: AnyEvent[];
}

let kit: AgentKit;
let ground: Ground;
let server: Server;
let targets: Targets;
let groups: CaseGroup[];
const runs = new Map<string, GroupRun>();
const before = { outside: [] as string[], parent: [] as string[], canary: '' };
let secrets: SecretsProbe;
let started = 0;
let userHomeBefore: string | undefined;

/** Entries of the workspaces' parent outside the agents' own workspaces. */
function notInWorkspaces(entries: readonly string[]): string[] {
  return entries.filter((entry) => !groups.some((g) => entry.startsWith(`${g.name}/`)));
}

beforeAll(async () => {
  started = Date.now();
  kit = await startAgentKit({ scenario: JSON.stringify({ name: 'placeholder', scripts: [{ turns: ['Done.'] }] }) });
  ({ ground, server } = await makeGround(kit.sdk.env.HOME as string));
  // The user's HOME as the orchestrator's process sees it: agents are denied its credentials.
  userHomeBefore = process.env.HOME;
  process.env.HOME = ground.userHome;
  targets = new Targets(ground);
  groups = [...bashGroups(targets), ...toolGroups(targets)];
  const ids = groups.flatMap((g) => g.cases.map((c) => c.id));
  expect(new Set(ids).size).toBe(ids.length);
  await targets.make();
  const scripts = groups.map((g) => ({
    name: g.name,
    match: { user: `^${g.name}$` },
    turns: [...g.cases.map(toolTurn), 'Done: {{last_tool_result}}'],
  }));
  await kit.server.setScenario(parseScenario(JSON.stringify({ name: 'escapes', scripts }), 'escapes.json'));
  const workspaces = new Map<string, string>();
  for (const g of groups) {
    const workspace = path.join(ground.wsParent, g.name);
    await mkdir(workspace, { recursive: true });
    await g.prepare?.(workspace);
    workspaces.set(g.name, workspace);
  }
  before.outside = await listTree(ground.outside);
  before.parent = await listTree(ground.wsParent);
  before.canary = fingerprint(ground.canary);
  // The CLI run (secrets, oversized payloads) goes on beside the agent groups.
  secrets = startSecretsProbe();
  // Two agent processes at a time, on the agents' one TMPDIR: the runtime gives each process
  // a folder of its own in it (processes of one configuration sharing one raced on the
  // sandbox's settings file, and bwrap failed to start).
  const queue = [...groups].sort((a, b) => b.cases.length - a.cases.length);
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const runtime = kit.runtime({ maxConcurrent: 1 });
      const sessionId = kit.session();
      const workspace = workspaces.get(group.name) as string;
      // Twenty sandboxed tool calls in one agent: give a loaded machine time for them.
      const spec = testSpec({ ...group.spec, name: group.name, timeoutMs: 120_000 });
      const result = await runtime.spawn({ sessionId, spec, prompt: group.name, cwd: workspace }).result;
      runs.set(group.name, { group, workspace, result, events: await kit.events(sessionId) });
    }
  };
  await Promise.all([worker(), worker()]);
  await secrets.done;
}, 180_000);

afterAll(async () => {
  process.env.HOME = userHomeBefore;
  report.print();
  const lines = [...tally].map(([category, counts]) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return `  ${category}: ${total} (${[...counts].map(([o, n]) => `${n} ${o}`).join(', ')})`;
  });
  const all = [...tally.values()].flatMap((counts) => [...counts]);
  const sum = (outcome?: string) =>
    all.filter(([o]) => outcome === undefined || o === outcome).reduce((a, [, n]) => a + n, 0);
  const setUp = sum('allowed (set-up)');
  process.stdout.write(
    `[security/escapes] grand total: ${sum() - setUp} cases (+${setUp} set-up steps) in ${tally.size} categories, ` +
      `${runs.size} agent processes + 1 CLI run, ${sum('escaped')} escaped, ${sum('rule bypassed')} rule bypassed, ` +
      `${sum('leaked')} leaked, ${sum('inconclusive')} inconclusive, ${Math.round((Date.now() - started) / 1000)} s\n` +
      `${lines.join('\n')}\n`,
  );
  await secrets?.cleanup();
  await kit?.cleanup();
  server?.close();
  if (ground) await rm(ground.base, { recursive: true, force: true });
  if (ground) await rm(`/tmp/x-w58-${ground.tag}`, { force: true });
});

describe('escapes tried by agents, one tool call each', () => {
  it.each([
    'Bash writes outside',
    'deny rule',
    'file tools',
    "the user's credentials",
    'denied tools in a loop',
    'network from Bash',
  ])('%s: nothing escapes, every case ends with a known outcome', (prefix) => {
    const judged: string[] = [];
    for (const run of runs.values()) {
      if (!run.group.category.startsWith(prefix)) continue;
      expect(run.result.ok, `${run.group.name}: ${JSON.stringify(run.result)}`).toBe(true);
      const decisions = dataOf(run.events, 'security.decision');
      const results = dataOf(run.events, 'agent.tool_result');
      for (const c of run.group.cases) {
        const toolUseId = `toolu_${c.id}`;
        const verdict = judge(
          c,
          {
            decisions: decisions.filter((d) => d.toolUseId === toolUseId),
            result: results.find((r) => r.toolUseId === toolUseId)?.content as string | undefined,
            hits: ground.hits.filter((hit) => hit.includes(`/${c.id}`)),
            workspace: run.workspace,
          },
          targets,
        );
        note(run.group.category, `${c.id} ${c.name}`, verdict.outcome, verdict.detail, ground);
        judged.push(`${c.id} ${verdict.outcome}: ${verdict.detail}`);
      }
    }
    expect(judged.length).toBeGreaterThan(0);
    expect(judged.filter((line) => /^\S+ (escaped|rule bypassed|inconclusive)/.test(line))).toEqual([]);
  });

  it('audits each refusal of a tool that does not exist: 20 WebFetch calls, 20 decisions', () => {
    const run = runs.get('loop-webfetch') as GroupRun;
    const decisions = dataOf(run.events, 'security.decision');
    expect(decisions).toHaveLength(20);
    expect(decisions.every((d) => d.tool === 'WebFetch' && d.decision === 'deny' && d.by === 'claude-code')).toBe(true);
    expect(run.result.ok && run.result.text).toContain('No such tool available');
    for (const name of ['no-tools', 'removed-tools']) {
      const other = runs.get(name) as GroupRun;
      expect(dataOf(other.events, 'security.decision').filter((d) => d.decision === 'deny')).toHaveLength(
        other.group.cases.length,
      );
    }
  });

  it("records the user's credential paths it denies where reads are open, in security.policy", () => {
    const policyOf = (name: string) => dataOf((runs.get(name) as GroupRun).events, 'security.policy')[0];
    expect(policyOf('credentials')?.privateReads).toEqual(
      expect.arrayContaining([path.join(ground.userHome, '.aws'), path.join(ground.userHome, '.ssh')]),
    );
    // Confined reads deny them with everything else outside the workspace.
    expect(policyOf('file-tools')).toMatchObject({ confineReads: true });
    expect(policyOf('file-tools')?.privateReads).toBeUndefined();
  });

  it('left the outside folder, the workspaces’ parent and the canaries as they were; the server saw nothing', async () => {
    expect(await listTree(ground.outside)).toEqual(before.outside);
    expect(notInWorkspaces(await listTree(ground.wsParent))).toEqual(notInWorkspaces(before.parent));
    expect(fingerprint(ground.canary)).toBe(before.canary);
    expect(targets.changed(targets.all())).toEqual([]);
    expect(ground.hits).toEqual([]);
  });
});

describe('planted secrets and oversized payloads, through the CLI', () => {
  it('the run completed; no planted value, plain or base64, in any store or output', async () => {
    const outcome = await secrets.judge((name, result, detail) => note('secrets', name, result, detail));
    expect(outcome.runCode, outcome.describe).toBe(0);
    expect(outcome.leaks).toEqual([]);
    expect(outcome.unclear).toEqual([]);
  });

  it('oversized tool results, inputs and messages are stored as a preview and a digest; the run goes on', async () => {
    const outcome = await secrets.judgeOversized((name, result, detail) =>
      note('oversized payloads', name, result, detail),
    );
    expect(outcome.problems).toEqual([]);
  });
});

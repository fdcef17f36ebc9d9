import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator, type WorkflowHandle } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { processesWithEnv, waitFor } from '../support/agent-kit.ts';

// The graph-aware warm start (on by default) from outside, when things go wrong: a run
// cancelled or failing while the spares for its next agents are parked or starting, spares
// killed by somebody else, and the orchestrator closed while they start. Each case asserts
// that no spare is taken by an agent that should never run and that no process outlives it.
// A planner thinks for seconds (as a real model does) after its `init`, the moment its three
// coders' spares start (each niced, parked after 1-2.5 s on a busy 2-core machine).
const team = parseWorkflow(
  `
name: warm-hostile
agents:
  planner: { systemPrompt: "You are the planner.", tools: [Write] }
  coder: { systemPrompt: "You are a coder.", tools: [Write] }
nodes:
  - { id: plan, agent: planner, task: "Plan the three parts." }
  - { id: code1, agent: coder, dependsOn: [plan], task: "Write part 1." }
  - { id: code2, agent: coder, dependsOn: [plan], task: "Write part 2." }
  - { id: code3, agent: coder, dependsOn: [plan], task: "Write part 3." }
`,
  'warm-hostile.yaml',
);
const CODERS = ['code1', 'code2', 'code3'];
const THINK_MS = 8000;

type PlannerTurn = Record<string, unknown>;
const planned: PlannerTurn = { content: [{ text: 'Planned.' }], delay_ms: THINK_MS };
// A 500 with `x-should-retry: false`: Claude Code gives up at once (a 401 or 429 it retries up
// to 10 times, a 400 it re-sends a few times), so the planner fails after its thinking time.
const refused: PlannerTurn = { fault: { status: 500, should_retry: false, times: 'always' }, delay_ms: THINK_MS };

const scenarioWith = (planner: PlannerTurn) =>
  compileScenario({
    name: 'warm-hostile',
    scripts: [
      { name: 'planner', match: { system: 'You are the planner' }, turns: [planner] },
      { name: 'coder', match: { system: 'You are a coder' }, turns: ['Written.'] },
    ],
  });

interface Opened {
  readonly orchestrator: Orchestrator;
  readonly dir: string;
}
const opened: Opened[] = [];

/** An orchestrator of its own (data directory, Claude Code config folder, scripted model). */
async function open(planner: PlannerTurn): Promise<Opened> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-warm-hostile-'));
  const orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir: dir, logLevel: 'silent', gateway: false, warmMinFreeMb: 0 }, {}),
    scenario: scenarioWith(planner),
  });
  const entry = { orchestrator, dir };
  opened.push(entry);
  expect(orchestrator.config.warmStart).toBe('graph');
  return entry;
}

afterEach(async () => {
  for (const { orchestrator, dir } of opened.splice(0)) {
    await orchestrator.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Claude Code processes (and anything they ran) of this orchestrator, found in /proc. */
const leftOver = ({ dir }: Opened) => processesWithEnv(`CLAUDE_CONFIG_DIR=${path.join(dir, 'claude')}`);

/**
 * Starts the team; `plannerInit` resolves at the planner's `init` with the pids of the agent
 * processes alive then (the planner's alone: spares start only after that `init`).
 */
async function startTeam(
  orchestrator: Orchestrator,
): Promise<{ handle: WorkflowHandle; plannerInit: Promise<number[]> }> {
  const sessionId = `ses_warm_hostile_${Date.now()}`;
  let planner: string | undefined;
  let resolve: (pids: number[]) => void = () => undefined;
  const plannerInit = new Promise<number[]>((r) => {
    resolve = r;
  });
  const unsubscribe = orchestrator.log.subscribe(
    { sessionId, types: ['agent.spawned', 'agent.progress'] },
    (event) => {
      const data = event.data as { agentId: string; nodeId?: string; kind?: string };
      if (event.type === 'agent.spawned' && data.nodeId === 'plan') planner = data.agentId;
      if (data.kind === 'init' && data.agentId === planner) {
        unsubscribe();
        resolve(orchestrator.agents.processes.pids());
      }
    },
    { name: 'test:planner-init' },
  );
  const handle = await orchestrator.startWorkflow(team, { sessionId });
  return { handle, plannerInit };
}

/** The run's log: the node of each agent spawned, and the nodes whose agent took a spare. */
async function agentsOf(orchestrator: Orchestrator, sessionId: string) {
  const events: AnyEvent[] = [];
  for await (const event of orchestrator.log.readAll(sessionId)) events.push(event);
  const nodeOf = new Map<string, string>();
  const warm: string[] = [];
  for (const event of events) {
    const data = event.data as { agentId?: string; nodeId?: string; kind?: string };
    if (event.type === 'agent.spawned' && data.agentId && data.nodeId) nodeOf.set(data.agentId, data.nodeId);
    if (event.type === 'agent.progress' && data.kind === 'warm_start') warm.push(nodeOf.get(data.agentId ?? '') ?? '?');
  }
  return { spawned: [...nodeOf.values()].sort(), warm: warm.sort() };
}

/** Only the planner ever got an agent, and none started on a spare. */
async function expectOnlyPlannerRan(orchestrator: Orchestrator, sessionId: string): Promise<void> {
  const { spawned, warm } = await agentsOf(orchestrator, sessionId);
  expect(spawned).toEqual(['plan']);
  expect(warm).toEqual([]);
}

/** Closes the orchestrator: no Claude Code process of its own outlives it. */
async function expectClosedClean(own: Opened): Promise<void> {
  await own.orchestrator.close();
  expect(leftOver(own)).toEqual([]);
}

/** The warm pool and the process registry are empty (bounded waits). */
async function expectNothingLive(orchestrator: Orchestrator): Promise<void> {
  expect(await waitFor(() => orchestrator.agents.warmStats.live === 0, 15_000)).toBe(true);
  expect(await waitFor(() => orchestrator.agents.processes.size === 0, 15_000)).toBe(true);
}

describe('the graph-aware warm start under hostile conditions', () => {
  it('a run cancelled while its coders’ spares start ends cancelled, takes none, and closes them all', {
    timeout: 120_000,
  }, async () => {
    const own = await open(planned);
    const { orchestrator } = own;
    const { handle, plannerInit } = await startTeam(orchestrator);
    expect(await plannerInit).toHaveLength(1);
    // One spare per coder asked for (parked or still starting), then the cancel.
    expect(await waitFor(() => orchestrator.agents.warmStats.live === 3, 10_000, 10)).toBe(true);
    expect(handle.state.nodes.plan?.status).toBe('running');
    handle.cancel('cancelled under test');

    const final = await handle.result;
    expect(final.status).toBe('cancelled');
    expect(CODERS.map((id) => final.nodes[id]?.status ?? 'pending')).not.toContain('completed');
    await expectNothingLive(orchestrator);
    const stats = orchestrator.agents.warmStats;
    expect(stats.taken).toBe(0);
    // Spares still starting at the cancel were closed once up: every one that came up counted.
    expect(stats.started).toBeLessThanOrEqual(3);
    await expectOnlyPlannerRan(orchestrator, handle.sessionId);
    await expectClosedClean(own);
  });

  it('a planner failing after its coders’ spares parked fails the run; the spares are closed untaken', {
    timeout: 120_000,
  }, async () => {
    const own = await open(refused);
    const { orchestrator } = own;
    const { handle, plannerInit } = await startTeam(orchestrator);
    expect(await plannerInit).toHaveLength(1);
    // All three spares parked while the planner still thinks (before its refused request ends).
    expect(await waitFor(() => orchestrator.agents.warmStats.started === 3, THINK_MS - 1000)).toBe(true);
    expect(orchestrator.agents.warmStats.live).toBe(3);
    expect(orchestrator.agents.processes.size).toBe(4);
    expect(handle.state.nodes.plan?.status).toBe('running');

    const final = await handle.result;
    expect(final.status).toBe('failed');
    expect(final.nodes.plan?.status).toBe('failed');
    await expectNothingLive(orchestrator);
    const stats = orchestrator.agents.warmStats;
    expect(stats).toEqual({ started: 3, taken: 0, live: 0 });
    await expectOnlyPlannerRan(orchestrator, handle.sessionId);
    await expectClosedClean(own);
  });

  it('parked spares SIGKILLed by an outsider are forgotten: the coders start without them and complete', {
    timeout: 120_000,
  }, async () => {
    const own = await open(planned);
    const { orchestrator } = own;
    const { handle, plannerInit } = await startTeam(orchestrator);
    const [plannerPid, ...others] = await plannerInit;
    expect(others).toEqual([]);
    expect(await waitFor(() => orchestrator.agents.warmStats.started === 3, THINK_MS - 2000)).toBe(true);
    const spares = orchestrator.agents.processes.pids().filter((pid) => pid !== plannerPid);
    expect(spares).toHaveLength(3);
    for (const pid of spares) process.kill(pid, 'SIGKILL');
    // The pool notices its spares died (nothing else runs before the planner answers).
    expect(await waitFor(() => orchestrator.agents.warmStats.live === 0, 5000)).toBe(true);
    expect(await waitFor(() => orchestrator.agents.processes.size === 1, 5000)).toBe(true);
    expect(leftOver(own).filter((p) => spares.includes(p.pid))).toEqual([]);
    expect(handle.state.nodes.plan?.status).toBe('running');

    const final = await handle.result;
    expect(final.status).toBe('completed');
    for (const id of CODERS) expect(final.nodes[id]?.output).toBe('Written.');
    await expectNothingLive(orchestrator);
    const stats = orchestrator.agents.warmStats;
    const { spawned, warm } = await agentsOf(orchestrator, handle.sessionId);
    expect(spawned).toEqual(['code1', 'code2', 'code3', 'plan']);
    // No killed spare was handed to a coder: a coder that started warm did so on a spare
    // started after the kill, and every take is one of those. (Observed: none is started after
    // it, as no event of the run asks again before the coders start, so all three start cold.)
    expect(warm.length).toBeLessThanOrEqual(stats.started - 3);
    expect(stats.taken).toBe(warm.length);
    await expectClosedClean(own);
  });

  it('close() while the coders’ spares still start resolves promptly and leaves no process', {
    timeout: 120_000,
  }, async () => {
    const own = await open(planned);
    const { orchestrator } = own;
    const { handle, plannerInit } = await startTeam(orchestrator);
    expect(await plannerInit).toHaveLength(1);
    expect(await waitFor(() => orchestrator.agents.warmStats.live === 3, 10_000, 10)).toBe(true);
    const startedAt = performance.now();
    await orchestrator.close();
    const closeMs = performance.now() - startedAt;
    // A bound against a hang (a spare's start-up may wait up to 60 s), not a speed figure.
    expect(closeMs).toBeLessThan(30_000);
    // A close suspends the run: its result settles, unfinished.
    const final = await handle.result;
    expect(final.status).not.toBe('completed');
    expect(orchestrator.agents.warmStats.live).toBe(0);
    expect(orchestrator.agents.processes.size).toBe(0);
    expect(leftOver(own)).toEqual([]);
  });
});

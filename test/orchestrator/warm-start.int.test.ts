import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { compileScenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { parseWorkflow } from '../../src/workflow/index.ts';
import { processesWithEnv, waitFor } from '../support/agent-kit.ts';

// The graph-aware warm start, on by default: a planner, three coders after it, a reviewer
// after them that adds a fix-up coder node at run time. Spares start only for the nodes about
// to become ready, while their predecessors work (the scripted model takes seconds per turn,
// as a real one does), so every agent but the first starts on one and none is left over.
const workflow = parseWorkflow(
  `
name: warm-team
agents:
  planner: { systemPrompt: "You are the planner.", tools: [Write] }
  coder: { systemPrompt: "You are a coder.", tools: [Write] }
  reviewer: { systemPrompt: "You are the reviewer.", tools: [], canModifyWorkflow: true }
nodes:
  - { id: plan, agent: planner, task: "Plan the three parts." }
  - { id: code1, agent: coder, dependsOn: [plan], task: "Write part 1." }
  - { id: code2, agent: coder, dependsOn: [plan], task: "Write part 2." }
  - { id: code3, agent: coder, dependsOn: [plan], task: "Write part 3." }
  - id: review
    agent: reviewer
    dependsOn: [code1, code2, code3]
    task: "Review the three parts."
    output:
      schema:
        type: object
        required: [verdict]
        properties: { verdict: { type: string } }
`,
  'warm-team.yaml',
);

const THINK_MS = 6000;
const scenario = compileScenario({
  name: 'warm-team',
  scripts: [
    {
      name: 'planner',
      match: { system: 'You are the planner' },
      turns: [{ content: [{ text: 'Planned.' }], delay_ms: THINK_MS }],
    },
    { name: 'fixup', match: { system: 'You are a coder', user: 'Fix-up' }, turns: ['Fixed.'] },
    {
      name: 'coder',
      match: { system: 'You are a coder' },
      turns: [{ content: [{ text: 'Written.' }], delay_ms: THINK_MS }],
    },
    {
      name: 'reviewer',
      match: { system: 'You are the reviewer' },
      turns: [
        {
          content: [
            {
              tool_use: {
                name: 'mcp__orchestrator__add_nodes',
                input: { nodes: [{ id: 'fixup', agent: 'coder', task: 'Fix-up of part 2.', dependsOn: ['review'] }] },
              },
            },
          ],
        },
        { content: [{ structured_output: { verdict: 'changes_requested' } }], delay_ms: THINK_MS },
      ],
    },
  ],
});

describe('orchestrator with the graph-aware warm start (the default)', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-warm-start-'));
    // No memory floor: the test asserts the policy, not the machine's free memory.
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', gateway: false, warmMinFreeMb: 0 }, {}),
      scenario,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts every agent after the first on a spare started for it, and leaves at most one unused', {
    timeout: 120_000,
  }, async () => {
    expect(orchestrator.config.warmStart).toBe('graph');
    const handle = await orchestrator.startWorkflow(workflow);
    // The planner starts up alone: its dependents' spares wait for its `init` (on 2 cores,
    // spares started beside it delayed its first answer by half a second).
    let sparesAtFirstInit: number | undefined;
    const unsubscribe = orchestrator.log.subscribe(
      { sessionId: handle.sessionId, types: ['agent.progress'] },
      (event) => {
        if ((event.data as { kind: string }).kind !== 'init') return;
        sparesAtFirstInit ??= orchestrator.agents.warmStats.started;
      },
      { name: 'test:first-init' },
    );
    const final = await handle.result;
    unsubscribe();
    expect(final.status).toBe('completed');
    expect(sparesAtFirstInit).toBe(0);
    const events: AnyEvent[] = [];
    for await (const event of orchestrator.log.readAll(handle.sessionId)) events.push(event);
    const nodeOf = new Map<string, string>();
    for (const e of events) {
      const data = e.data as { agentId?: string; nodeId?: string };
      if (e.type === 'agent.spawned' && data.agentId && data.nodeId) nodeOf.set(data.agentId, data.nodeId);
    }
    const warm = events
      .filter((e) => e.type === 'agent.progress' && (e.data as { kind: string }).kind === 'warm_start')
      .map((e) => nodeOf.get((e.data as { agentId: string }).agentId))
      .sort();
    expect([...nodeOf.values()].sort()).toEqual(['code1', 'code2', 'code3', 'fixup', 'plan', 'review']);
    expect(warm).toEqual(['code1', 'code2', 'code3', 'fixup', 'review']);

    // Once the run has let go, its unused spares are closed: what was started and not taken
    // is what the run wasted.
    expect(await waitFor(() => orchestrator.agents.warmStats.live === 0, 10_000)).toBe(true);
    const stats = orchestrator.agents.warmStats;
    expect(stats.taken).toBe(5);
    expect(stats.started - stats.taken).toBeLessThanOrEqual(1);
    expect(await waitFor(() => orchestrator.agents.processes.size === 0, 10_000)).toBe(true);
  });

  it('leaves no Claude Code process of its own after close', async () => {
    await orchestrator.close();
    expect(processesWithEnv(`CLAUDE_CONFIG_DIR=${path.join(dir, 'claude')}`)).toEqual([]);
  });
});

// Four coders after the planner, two at a time, two spares at most: the first two coders take
// the spares started during the plan; the other two wait for a slot (held back by the
// workflow's concurrency), and their spares start only once the first two have started up,
// not beside them (on 2 cores, spares starting beside a wave of agents doubled its start-up).
const waves = parseWorkflow(
  `
name: warm-waves
concurrency: 2
agents:
  planner: { systemPrompt: "You are the planner.", tools: [Write] }
  coder: { systemPrompt: "You are a coder.", tools: [Write] }
nodes:
  - { id: plan, agent: planner, task: "Plan the four parts." }
${[1, 2, 3, 4].map((i) => `  - { id: code${i}, agent: coder, dependsOn: [plan], task: "Write part ${i}." }`).join('\n')}
`,
  'warm-waves.yaml',
);

// Turns long enough for the second wave's spares to start and park while the first works (they
// start after its `init`; parking took 1-2.5 s on a busy 2-core machine).
const wavesScenario = compileScenario({
  name: 'warm-waves',
  scripts: [
    {
      name: 'planner',
      match: { system: 'You are the planner' },
      turns: [{ content: [{ text: 'Planned.' }], delay_ms: 3000 }],
    },
    {
      name: 'coder',
      match: { system: 'You are a coder' },
      turns: [{ content: [{ text: 'Written.' }], delay_ms: 4000 }],
    },
  ],
});

describe('the graph-aware warm start, wave after wave', () => {
  let dir: string;
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-warm-waves-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', gateway: false, warmMinFreeMb: 0, warmMaxSpares: 2 }, {}),
      scenario: wavesScenario,
    });
  });
  afterAll(async () => {
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts no spare while an agent of the run starts up', { timeout: 120_000 }, async () => {
    const handle = await orchestrator.startWorkflow(waves);
    const nodeOf = new Map<string, string>();
    // Spares parked or starting when each coder of the first wave reported `init`.
    const liveAtInit = new Map<string, number>();
    const unsubscribe = orchestrator.log.subscribe(
      { sessionId: handle.sessionId, types: ['agent.spawned', 'agent.progress'] },
      (event) => {
        const data = event.data as { agentId: string; nodeId?: string; kind?: string };
        if (event.type === 'agent.spawned' && data.nodeId) nodeOf.set(data.agentId, data.nodeId);
        const node = nodeOf.get(data.agentId);
        if (data.kind === 'init' && (node === 'code1' || node === 'code2')) {
          liveAtInit.set(node, orchestrator.agents.warmStats.live);
        }
      },
      { name: 'test:wave-inits' },
    );
    const final = await handle.result;
    unsubscribe();
    expect(final.status).toBe('completed');
    expect(liveAtInit).toEqual(
      new Map([
        ['code1', 0],
        ['code2', 0],
      ]),
    );
    const warm: string[] = [];
    const notes = new Set<string>();
    for await (const event of orchestrator.log.readAll(handle.sessionId)) {
      const data = event.data as { agentId?: string; kind?: string; text?: string };
      if (event.type === 'agent.progress' && data.kind === 'warm_start') {
        warm.push(nodeOf.get(data.agentId ?? '') ?? '');
        notes.add(String(data.text).split(' ').slice(0, 4).join(' '));
      }
    }
    expect(warm.sort()).toEqual(['code1', 'code2', 'code3', 'code4']);
    // The session workspace (a temporary folder, outside git): start-up spares of that folder.
    expect([...notes]).toEqual(['took a start-up spare']);
    expect(await waitFor(() => orchestrator.agents.warmStats.live === 0, 10_000)).toBe(true);
    const stats = orchestrator.agents.warmStats;
    expect(stats.started - stats.taken).toBeLessThanOrEqual(1);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readRssBytes } from '../src/agents/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { compileScenario } from '../src/model-server/index.ts';
import { Orchestrator } from '../src/orchestrator/index.ts';
import { parseWorkflow } from '../src/workflow/index.ts';
import { processCpuMs } from './support/proc-cpu.ts';

/**
 * A team workflow end to end through the public API, cold (`warmStart: off`) against the
 * graph-aware warm start, at the same agent cap: a planner, 8 coders in parallel (each in
 * its own worktree), a reviewer after them that adds a fix-up coder node at run time. The
 * scripted model takes its time per turn (`delay_ms`), as a real one does; that is the time
 * spares start in. Runs alternate cold and warm; each opens its own orchestrator (not timed).
 *
 * Per run: wall time from `startWorkflow` to the result; CPU time of this process and of
 * every agent process (spares included: they are its children, reaped before the figure is
 * read, so `/proc/self/stat` cutime+cstime holds them); peak resident memory of this process
 * plus its agent processes (sampled every 100 ms); spares started and not taken.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const PAIRS = Number(process.env.TEAM_BENCH_PAIRS ?? 3);
const CAP = Number(process.env.TEAM_BENCH_CAP ?? 4);
const CODERS = 8;
const THINK_MS = Number(process.env.TEAM_BENCH_THINK_MS ?? 3000);
/** The reviewer's first turn and the fix-up's: a third of a turn (the scenario takes whole ms). */
const SHORT_THINK_MS = Math.round(THINK_MS / 3);
/** `isolated`: each coder in its own git worktree (created one at a time per workspace); `session`: all in the session workspace. */
const WORKSPACE = process.env.TEAM_BENCH_WORKSPACE === 'isolated' ? 'isolated' : 'session';

const VERBOSE = process.env.TEAM_BENCH_VERBOSE === '1';

/**
 * The scripted model's delays on the critical path: the planner's turn, one turn per wave of
 * coders (CAP at a time), the reviewer's two turns, the fix-up's. Everything else in a run's
 * time is start-up, tools and turns without a delay.
 */
const MODEL_FLOOR_MS = THINK_MS + Math.ceil(CODERS / CAP) * THINK_MS + (SHORT_THINK_MS + THINK_MS) + SHORT_THINK_MS;

const coderIds = Array.from({ length: CODERS }, (_, i) => `code${i + 1}`);
const workflow = parseWorkflow(
  `
name: team-bench
concurrency: ${CAP}
agents:
  planner: { systemPrompt: "You are the planner.", tools: [Read, Write] }
  coder: { systemPrompt: "You are a coder.", tools: [Read, Write, Edit], workingDirectory: ${WORKSPACE} }
  reviewer: { systemPrompt: "You are the reviewer.", tools: [Read], canModifyWorkflow: true }
nodes:
  - { id: plan, agent: planner, task: "Plan the ${CODERS} modules." }
${coderIds.map((id) => `  - { id: ${id}, agent: coder, dependsOn: [plan], task: "Write module ${id}." }`).join('\n')}
  - id: review
    agent: reviewer
    dependsOn: [${coderIds.join(', ')}]
    task: "Review the modules."
`,
  'team-bench.yaml',
);

const scenario = compileScenario({
  name: 'team-bench',
  scripts: [
    {
      name: 'planner',
      match: { system: 'You are the planner' },
      turns: [
        {
          content: [{ tool_use: { name: 'Write', input: { file_path: 'PLAN.md', content: '# Plan\n' } } }],
          delay_ms: THINK_MS,
        },
        'PLAN.md is written.',
      ],
    },
    {
      name: 'fixup',
      match: { system: 'You are a coder', user: 'Fix-up' },
      turns: [{ content: [{ text: 'Fixed.' }], delay_ms: SHORT_THINK_MS }],
    },
    {
      name: 'coder',
      match: { system: 'You are a coder' },
      turns: [
        {
          content: [{ tool_use: { name: 'Write', input: { file_path: 'module.txt', content: 'done\n' } } }],
          delay_ms: THINK_MS,
        },
        'The module is written.',
      ],
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
                input: {
                  nodes: [{ id: 'fixup', agent: 'coder', task: 'Fix-up of module code1.', dependsOn: ['review'] }],
                },
              },
            },
          ],
          delay_ms: SHORT_THINK_MS,
        },
        { content: [{ text: 'One fix-up is needed.' }], delay_ms: THINK_MS },
      ],
    },
  ],
});

/** CPU time (ms) of this process and of its reaped children. */
function cpuMs(): { self: number; children: number } {
  const cpu = processCpuMs();
  if (!cpu) throw new Error('the team bench reads its CPU time from /proc (Linux only)');
  return cpu;
}

interface RunFigures {
  wallMs: number;
  cpuSelfMs: number;
  cpuAgentsMs: number;
  peakRssMb: number;
  agents: number;
  warmAgents: number;
  sparesStarted: number;
  sparesUnused: number;
}

async function oneRun(warm: boolean): Promise<RunFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), `orch-team-${warm ? 'warm' : 'cold'}-`));
  const orchestrator = await Orchestrator.open({
    config: loadConfig(
      {
        dataDir: dir,
        logLevel: 'silent',
        gateway: false,
        maxConcurrentAgents: CAP,
        warmStart: warm ? 'graph' : 'off',
        // The bench compares policies: the machine's free memory must not decide for it.
        warmMinFreeMb: 0,
      },
      {},
    ),
    scenario,
  });
  try {
    let peak = 0;
    const sample = () => {
      let rss = readRssBytes(process.pid) ?? 0;
      for (const pid of orchestrator.agents.processes.pids()) rss += readRssBytes(pid) ?? 0;
      peak = Math.max(peak, rss);
    };
    const sampler = setInterval(sample, 100);
    const before = cpuMs();
    const statsBefore = orchestrator.agents.warmStats;
    const start = performance.now();
    const handle = await orchestrator.startWorkflow(workflow);
    const final = await handle.result;
    const wallMs = performance.now() - start;
    if (final.status !== 'completed') throw new Error(`team run ended ${final.status}`);
    // Unused spares are closed when the run lets go; wait for every process to be reaped so
    // that its CPU time is counted.
    const deadline = performance.now() + 20_000;
    while (
      (orchestrator.agents.warmStats.live > 0 || orchestrator.agents.processes.size > 0) &&
      performance.now() < deadline
    ) {
      await sleep(50);
    }
    clearInterval(sampler);
    const after = cpuMs();
    const stats = orchestrator.agents.warmStats;
    let agents = 0;
    let warmAgents = 0;
    const trace: string[] = [];
    const t0 = Date.now() - wallMs;
    for await (const event of orchestrator.log.readAll(handle.sessionId)) {
      const data = event.data as { kind?: string; nodeId?: string; agentId?: string; text?: string };
      if (event.type === 'agent.spawned') agents++;
      if (event.type === 'agent.progress' && data.kind === 'warm_start') warmAgents++;
      if (
        VERBOSE &&
        (event.type.startsWith('node.') || event.type.startsWith('agent.') || event.type.startsWith('model.'))
      ) {
        trace.push(
          `${Date.parse(event.ts) - t0} ${event.type} ${data.nodeId ?? data.agentId ?? ''} ${data.text ?? ''}`,
        );
      }
    }
    if (VERBOSE) console.log(`${warm ? 'warm' : 'cold'} run:\n  ${trace.join('\n  ')}`);
    const started = stats.started - statsBefore.started;
    return {
      wallMs,
      cpuSelfMs: after.self - before.self,
      cpuAgentsMs: after.children - before.children,
      peakRssMb: peak / 1024 / 1024,
      agents,
      warmAgents,
      sparesStarted: started,
      sparesUnused: started - (stats.taken - statsBefore.taken),
    };
  } finally {
    await orchestrator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** Runs the team workflow cold and warm, interleaved, and prints medians. */
export default async function teamBench(): Promise<BenchResult[]> {
  const cold: RunFigures[] = [];
  const warm: RunFigures[] = [];
  for (let i = 0; i < PAIRS; i++) {
    // Alternate which goes first, so neither always runs on a warmer file cache.
    if (i % 2 === 0) {
      cold.push(await oneRun(false));
      warm.push(await oneRun(true));
    } else {
      warm.push(await oneRun(true));
      cold.push(await oneRun(false));
    }
  }
  const rows: BenchResult[] = [];
  const med = (runs: RunFigures[], key: keyof RunFigures) => round1(median(runs.map((run) => run[key])));
  for (const [label, runs] of [
    ['cold', cold],
    ['warm', warm],
  ] as const) {
    rows.push(
      { name: `${label}: end to end (startWorkflow to result), median`, value: med(runs, 'wallMs'), unit: 'ms' },
      { name: `${label}: CPU of the orchestrator process, median`, value: med(runs, 'cpuSelfMs'), unit: 'ms' },
      {
        name: `${label}: CPU of agent processes (spares included), median`,
        value: med(runs, 'cpuAgentsMs'),
        unit: 'ms',
      },
      { name: `${label}: peak RSS, orchestrator + agent processes, median`, value: med(runs, 'peakRssMb'), unit: 'MB' },
      {
        name: `${label}: agents that started on a spare (of ${med(runs, 'agents')}), median`,
        value: med(runs, 'warmAgents'),
        unit: '',
      },
      { name: `${label}: spares started per run, median`, value: med(runs, 'sparesStarted'), unit: '' },
      {
        name: `${label}: unused spares per run, worst`,
        value: Math.max(...runs.map((run) => run.sparesUnused)),
        unit: '',
        ...(label === 'warm' && { target: '<= 1' }),
      },
    );
  }
  const coldMs = median(cold.map((run) => run.wallMs));
  const warmMs = median(warm.map((run) => run.wallMs));
  rows.push(
    {
      name: `warm faster than cold end to end (cap ${CAP}, ${WORKSPACE}, ${PAIRS} pairs, think ${THINK_MS} ms)`,
      value: round1((1 - warmMs / coldMs) * 100),
      unit: '%',
      target: '>= 20 %',
    },
    // What no start-up, warm or not, can go below: how far the gain can go at these delays.
    { name: '  model time on the critical path (the floor)', value: MODEL_FLOOR_MS, unit: 'ms' },
    {
      name: '  the most a warm start could gain: cold down to the floor',
      value: round1((1 - MODEL_FLOOR_MS / coldMs) * 100),
      unit: '%',
    },
    {
      name: '  share of the time above the floor that the warm start saved',
      value: round1(((coldMs - warmMs) / (coldMs - MODEL_FLOOR_MS)) * 100),
      unit: '%',
    },
  );
  return rows;
}

if (import.meta.main) {
  for (const row of await teamBench()) {
    console.log(`${row.name}: ${row.value} ${row.unit}${row.target ? ` (target ${row.target})` : ''}`);
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Options, query, type SpawnedProcess, type SpawnOptions, startup } from '@anthropic-ai/claude-agent-sdk';
import type { AgentRuntime, AgentSpec } from '../src/agents/index.ts';
import type { AnyEvent } from '../src/events/index.ts';
import { type AgentKit, startAgentKit, testSpec } from '../test/support/agent-kit.ts';
import { processCpuMs } from './support/proc-cpu.ts';

/**
 * The agent runtime against the scripted model server, one agent at a time:
 * - cold start: spawn to the first streamed event (Claude Code's init), to the first
 *   assistant message and to the result, through `AgentRuntime` (median of ROUNDS);
 * - the orchestrator's own overhead: a bare SDK `query()` drained to its end beside
 *   `AgentRuntime.spawn()` to its settled result (events committed to SQLite, process reaped),
 *   interleaved. Whole runs differ by tens of ms from run to run (Claude Code's start-up on a
 *   shared machine), so the overhead figure adds up what the runtime does on the critical path
 *   outside Claude Code: from the call to the process spawn, and from the process exit to the
 *   end; plus this process's CPU time per agent;
 * - the warm pool: spawn to the first assistant message from a start-up spare of the agent's
 *   folder (SDK `startup()`), from a claim spare (SDK `prewarm()`) and cold, interleaved,
 *   each measured with the pool refilled and idle (a workflow's agents are seconds of model
 *   time apart; on a 2-core machine a spare still starting takes the CPU the measured agent
 *   needs). Idle means quiet: Claude Code goes on working for ~2.5 s after `startup()` or
 *   `prewarm()` resolve (~0.2 s of CPU), so each spawn waits until the spares use no CPU. And
 *   once more back to back, with no pause between agents, so the spares started for earlier
 *   claims run beside it.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const ROUNDS = 5;
const PAIRS = 11;
/** Warm and cold spawns vary by tens of ms on a shared machine: more rounds for the pool. */
const WARM_ROUNDS = 9;

/** One agent, one turn: the answer the bench's agents get (also used by `support/profile-agents.ts`). */
export const ONE_TURN_SCENARIO = `
name: agents-bench
scripts:
  - name: answer
    turns:
      - content: [{ text: Benchmark answer. }]
        usage: { input_tokens: 100, output_tokens: 5 }
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

interface SpawnTiming {
  firstEvent: number;
  firstMessage: number;
  result: number;
  /** Whether the agent ran on a pre-started process (either kind). */
  warm: boolean;
  /** Which kind: a start-up spare of its folder, a claim spare, or none. */
  kind: 'startup' | 'claim' | 'cold';
  /** When the spare's process had answered the claim (its `warm_start` event). */
  claimed: number;
  /** When its first model request reached the scripted server (1 ms resolution). */
  request: number;
}

/** Times one agent from `spawn()`: first streamed event, first assistant message, result. */
async function timeSpawn(
  kit: AgentKit,
  runtime: AgentRuntime,
  spec: AgentSpec,
  cwd: string,
  sharedCwd = false,
): Promise<SpawnTiming> {
  let firstEvent: number | undefined;
  let firstMessage: number | undefined;
  let warm = false;
  let kind: SpawnTiming['kind'] = 'cold';
  let claimed = Number.NaN;
  const requestsBefore = kit.server.requests.length;
  const start = performance.now();
  const startEpoch = Date.now();
  const onEvent = (event: AnyEvent) => {
    const now = performance.now() - start;
    const progress = event.type === 'agent.progress' ? (event.data as { kind: string }).kind : undefined;
    if (progress === 'init') firstEvent ??= now;
    if (progress === 'warm_start') {
      warm = true;
      kind = String((event.data as { text?: string }).text).startsWith('took a start-up spare') ? 'startup' : 'claim';
      claimed = now;
    }
    if (event.type === 'agent.message') firstMessage ??= now;
  };
  const result = await runtime.spawn({ sessionId: kit.session(), spec, prompt: 'Answer', cwd, sharedCwd, onEvent })
    .result;
  const total = performance.now() - start;
  if (!result.ok) throw new Error(`bench agent failed: ${result.error.code} ${result.error.message}`);
  const request = kit.server.requests.slice(requestsBefore).find((r) => r.path.startsWith('/v1/messages'));
  return {
    firstEvent: firstEvent ?? Number.NaN,
    firstMessage: firstMessage ?? Number.NaN,
    result: total,
    warm,
    kind,
    claimed,
    request: request ? request.at - startEpoch : Number.NaN,
  };
}

/** Where one agent's wall time went: before Claude Code started, and after it exited. */
interface Phases {
  /** From the call (`query()` or `spawn()`) to the Claude Code process being spawned. */
  beforeSpawn: number;
  /** From the process's exit to the end (iterator done, or result settled and recorded). */
  afterExit: number;
  total: number;
  /** CPU time of this (the orchestrator's) process over the agent's life. */
  cpu: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Claude Code started by a plain `spawn`, as for a bare SDK user (no process group, tag or
 * scratch folder, unlike the runtime's), with a look at the child for the bare side's timings.
 */
function bareSpawner(seen: (child: ChildProcess) => void): (options: SpawnOptions) => SpawnedProcess {
  return (spawnOptions) => {
    const child = spawn(spawnOptions.command, spawnOptions.args, {
      cwd: spawnOptions.cwd,
      env: spawnOptions.env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    seen(child);
    return child as unknown as SpawnedProcess;
  };
}

/**
 * A bare SDK query with the same prompt and environment, drained to its end; with `sandbox`,
 * Claude Code's Bash sandbox on, as the runtime's agents have it by default.
 */
async function timeBareQuery(kit: AgentKit, cwd: string, sandbox = false): Promise<Phases> {
  let spawnedAt = Number.NaN;
  let exitedAt = Number.NaN;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const options = {
    cwd,
    env: kit.sdk.env,
    settingSources: [],
    ...(sandbox && { sandbox: { enabled: true, failIfUnavailable: true } }),
    spawnClaudeCodeProcess: bareSpawner((child) => {
      // Taken once spawned, as the runtime side can only see its process then.
      spawnedAt = performance.now();
      child.once('exit', () => {
        exitedAt = performance.now();
      });
    }),
  } satisfies Options;
  for await (const message of query({ prompt: 'Answer', options })) {
    if (message.type === 'result' && message.is_error) throw new Error('bare query failed');
  }
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  return {
    beforeSpawn: spawnedAt - start,
    afterExit: end - exitedAt,
    total: end - start,
    cpu: (used.user + used.system) / 1000,
  };
}

/**
 * The same through `AgentRuntime.spawn()`. Spawn and exit of its process are seen by polling
 * every millisecond (the runtime does not expose them), so they are accurate to about 1 ms.
 */
async function timeManaged(
  kit: AgentKit,
  runtime: AgentRuntime,
  spec: AgentSpec,
  cwd: string,
  polled = true,
): Promise<Phases> {
  let spawnedAt = Number.NaN;
  let exitedAt = Number.NaN;
  let pid: number | undefined;
  // The poll costs this process CPU time of its own (a callback every millisecond), which the
  // bare side does not pay: CPU figures come from runs without it.
  const poll = setInterval(() => {
    if (pid === undefined) {
      pid = runtime.processes.pids()[0];
      if (pid !== undefined) spawnedAt = performance.now();
    } else if (Number.isNaN(exitedAt) && !isAlive(pid)) exitedAt = performance.now();
  }, 1);
  if (!polled) clearInterval(poll);
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    const result = await runtime.spawn({ sessionId: kit.session(), spec, prompt: 'Answer', cwd }).result;
    if (!result.ok) throw new Error(`bench agent failed: ${result.error.code}`);
  } finally {
    clearInterval(poll);
  }
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  // A process reaped before the poll saw it gone counts as exiting at the end.
  if (Number.isNaN(exitedAt)) exitedAt = end;
  return {
    beforeSpawn: spawnedAt - start,
    afterExit: end - exitedAt,
    total: end - start,
    cpu: (used.user + used.system) / 1000,
  };
}

async function coldFigures(kit: AgentKit): Promise<BenchResult[]> {
  const runtime = kit.runtime({ maxConcurrent: 1 });
  const cwd = await kit.workspace('cold');
  const spec = testSpec();
  await timeSpawn(kit, runtime, spec, cwd); // warms the file cache and the model server
  const timings: SpawnTiming[] = [];
  for (let i = 0; i < ROUNDS; i++) timings.push(await timeSpawn(kit, runtime, spec, cwd));
  return [
    {
      name: 'cold spawn to first streamed event (init), median',
      value: round1(median(timings.map((t) => t.firstEvent))),
      unit: 'ms',
    },
    {
      name: 'cold spawn to first assistant message, median',
      value: round1(median(timings.map((t) => t.firstMessage))),
      unit: 'ms',
    },
    {
      name: 'cold spawn to result (process reaped), median',
      value: round1(median(timings.map((t) => t.result))),
      unit: 'ms',
    },
  ];
}

async function overheadFigures(kit: AgentKit): Promise<BenchResult[]> {
  const runtime = kit.runtime({ maxConcurrent: 1 });
  const cwd = await kit.workspace('overhead');
  const spec = testSpec();
  const bare: Phases[] = [];
  const sandboxed: Phases[] = [];
  const managed: Phases[] = [];
  const unpolled: Phases[] = [];
  for (let i = 0; i < PAIRS; i++) {
    // Alternate which side goes first so neither always runs on a warmer cache.
    if (i % 2 === 0) {
      bare.push(await timeBareQuery(kit, cwd));
      sandboxed.push(await timeBareQuery(kit, cwd, true));
      managed.push(await timeManaged(kit, runtime, spec, cwd));
      unpolled.push(await timeManaged(kit, runtime, spec, cwd, false));
    } else {
      unpolled.push(await timeManaged(kit, runtime, spec, cwd, false));
      managed.push(await timeManaged(kit, runtime, spec, cwd));
      sandboxed.push(await timeBareQuery(kit, cwd, true));
      bare.push(await timeBareQuery(kit, cwd));
    }
  }
  const med = (rows: Phases[], key: keyof Phases) => median(rows.map((row) => row[key]));
  // What the orchestrator adds on the agent's critical path: before the process starts and
  // after it exits (the Claude Code part in between is the same work on both sides).
  const added =
    med(managed, 'beforeSpawn') - med(bare, 'beforeSpawn') + (med(managed, 'afterExit') - med(bare, 'afterExit'));
  return [
    { name: 'bare SDK query() to end, median', value: round1(med(bare, 'total')), unit: 'ms' },
    // The runtime's agents run with the sandbox on: its start-up in Claude Code (bwrap and
    // socat checks, and in 2.1.331 an `npm root -g` looking for its helpers) is in
    // the runtime's total, not in its overhead.
    {
      name: '  the same with the sandbox on, median',
      value: round1(med(sandboxed, 'total')),
      unit: 'ms',
    },
    { name: 'AgentRuntime.spawn() to settled result, median', value: round1(med(managed, 'total')), unit: 'ms' },
    { name: 'call to process spawn: bare, median', value: round1(med(bare, 'beforeSpawn')), unit: 'ms' },
    { name: 'call to process spawn: runtime, median', value: round1(med(managed, 'beforeSpawn')), unit: 'ms' },
    { name: 'process exit to end: bare (iterator done), median', value: round1(med(bare, 'afterExit')), unit: 'ms' },
    {
      name: 'process exit to end: runtime (result recorded), median',
      value: round1(med(managed, 'afterExit')),
      unit: 'ms',
    },
    { name: 'orchestrator CPU per agent: bare, median', value: round1(med(bare, 'cpu')), unit: 'ms' },
    {
      name: 'orchestrator CPU per agent: runtime (no poll), median',
      value: round1(med(unpolled, 'cpu')),
      unit: 'ms',
      target: '<= 20 ms',
    },
    { name: '  the same with the 1 ms spawn/exit poll, median', value: round1(med(managed, 'cpu')), unit: 'ms' },
    {
      name: 'orchestrator overhead on the critical path per agent',
      value: round1(added),
      unit: 'ms',
      target: '<= 5 ms',
    },
    {
      name: `wall-clock difference runtime - bare (median of ${PAIRS} pairs; noisy)`,
      value: round1(median(managed.map((row, i) => row.total - (bare[i] as Phases).total))),
      unit: 'ms',
    },
    {
      name: '  the same against the bare query with the sandbox on',
      value: round1(median(managed.map((row, i) => row.total - (sandboxed[i] as Phases).total))),
      unit: 'ms',
    },
  ];
}

/** Waits until these processes used under 10 ms of CPU in half a second (at most 6 s). */
async function quiet(pids: () => readonly number[]): Promise<void> {
  const total = () => pids().reduce((sum, pid) => sum + (processCpuMs(pid)?.self ?? 0), 0);
  const deadline = performance.now() + 6000;
  let before = total();
  while (performance.now() < deadline) {
    await sleep(500);
    const now = total();
    if (now - before < 10) return;
    before = now;
  }
}

/**
 * A bare SDK `startup()` process in the same folder and environment, with the sandbox on as
 * the runtime's agents have it, left to go quiet (not timed); then the time from its prompt to
 * the first assistant message: what Claude Code itself needs from a parked start-up spare.
 */
async function timeBareStartup(kit: AgentKit, cwd: string): Promise<number> {
  let pid: number | undefined;
  const warm = await startup({
    options: {
      cwd,
      env: kit.sdk.env,
      settingSources: [],
      sandbox: { enabled: true, failIfUnavailable: true },
      spawnClaudeCodeProcess: bareSpawner((child) => {
        pid = child.pid;
      }),
    },
  });
  await quiet(() => (pid === undefined ? [] : [pid]));
  const start = performance.now();
  let firstMessage = Number.NaN;
  for await (const message of warm.query('Answer')) {
    if (message.type === 'assistant' && Number.isNaN(firstMessage)) firstMessage = performance.now() - start;
    if (message.type === 'result' && message.is_error) throw new Error('bare start-up query failed');
  }
  return firstMessage;
}

async function warmFigures(kit: AgentKit): Promise<BenchResult[]> {
  const runtime = kit.runtime({ maxConcurrent: 1, warmPool: 1 });
  const cwd = await kit.workspace('warm');
  const spec = testSpec({ systemPrompt: 'You answer benchmarks.' });
  const cold = kit.runtime({ maxConcurrent: 1 });
  const colds: SpawnTiming[] = [];
  const claims: SpawnTiming[] = [];
  const startups: SpawnTiming[] = [];
  // Not timed: both kinds of spare are parked and nothing is starting before any spawn (the
  // spare replacing the last take has started up by now).
  const idle = async () => {
    await runtime.prewarm(spec);
    await runtime.prewarm(spec, { cwd });
    await quiet(() => runtime.processes.pids());
  };
  const bareStartups: number[] = [];
  for (let i = 0; i < WARM_ROUNDS; i++) {
    // Rotate the order so that no kind always follows the same one.
    const order = [0, 1, 2, 3].map((k) => (k + i) % 4);
    for (const which of order) {
      await idle();
      if (which === 0) colds.push(await timeSpawn(kit, cold, spec, cwd));
      else if (which === 1) claims.push(await timeSpawn(kit, runtime, spec, cwd));
      else if (which === 2) startups.push(await timeSpawn(kit, runtime, spec, cwd, true));
      else bareStartups.push(await timeBareStartup(kit, cwd));
    }
  }
  await runtime.shutdown();
  await cold.shutdown();

  // Back to back: each agent starts the moment the previous one is done, while the spare
  // replacing the previous claim is still starting. Two spares, so that one is parked.
  const busy = kit.runtime({ maxConcurrent: 1, warmPool: 2 });
  await busy.prewarm(spec);
  const busyTimes: number[] = [];
  const busyWarmTimes: number[] = [];
  for (let i = 0; i < WARM_ROUNDS; i++) {
    const timing = await timeSpawn(kit, busy, spec, cwd);
    busyTimes.push(timing.firstMessage);
    if (timing.warm) busyWarmTimes.push(timing.firstMessage);
  }
  await busy.shutdown();
  const med = (rows: SpawnTiming[], key: 'firstMessage' | 'claimed' | 'firstEvent' | 'request' | 'result') =>
    round1(median(rows.map((row) => row[key])));
  return [
    { name: 'spawn to first assistant message, cold, median', value: med(colds, 'firstMessage'), unit: 'ms' },
    { name: '  cold: spawn to first model request, median', value: med(colds, 'request'), unit: 'ms' },
    {
      name: 'spawn to first assistant message, warm pool (claim spare), median',
      value: med(claims, 'firstMessage'),
      unit: 'ms',
    },
    { name: `  spawns that were warm (of ${WARM_ROUNDS})`, value: claims.filter((t) => t.warm).length, unit: '' },
    // Where the time goes: until the spare has taken the claim (cwd, session, context), then
    // until Claude Code starts the turn (init), then the first model request and its answer.
    { name: '  warm: spawn to claim answered, median', value: med(claims, 'claimed'), unit: 'ms' },
    { name: '  warm: spawn to init (turn starts), median', value: med(claims, 'firstEvent'), unit: 'ms' },
    { name: '  warm: spawn to first model request, median', value: med(claims, 'request'), unit: 'ms' },
    {
      name: 'spawn to result (process reaped), warm pool (claim spare), median',
      value: med(claims, 'result'),
      unit: 'ms',
    },
    {
      name: 'spawn to first assistant message, start-up spare of the folder, median',
      value: med(startups, 'firstMessage'),
      unit: 'ms',
      target: '<= 150 ms',
    },
    // The floor under that target: Claude Code's own time from prompt to first answer.
    {
      name: '  bare SDK startup() with the sandbox on, prompt to first message, median',
      value: round1(median(bareStartups)),
      unit: 'ms',
    },
    {
      name: `  spawns on a start-up spare (of ${WARM_ROUNDS})`,
      value: startups.filter((t) => t.kind === 'startup').length,
      unit: '',
    },
    { name: '  start-up spare: spawn to init (turn starts), median', value: med(startups, 'firstEvent'), unit: 'ms' },
    { name: '  start-up spare: spawn to first model request, median', value: med(startups, 'request'), unit: 'ms' },
    { name: 'spawn to result (process reaped), start-up spare, median', value: med(startups, 'result'), unit: 'ms' },
    {
      name: 'back to back, pool of 2: spawn to first message, median',
      value: round1(median(busyTimes)),
      unit: 'ms',
    },
    {
      name: 'back to back, pool of 2: the warm ones only, median',
      value: busyWarmTimes.length > 0 ? round1(median(busyWarmTimes)) : Number.NaN,
      unit: 'ms',
    },
    { name: `  back-to-back spawns that were warm (of ${WARM_ROUNDS})`, value: busyWarmTimes.length, unit: '' },
  ];
}

/** Runs every agent runtime measurement against a fresh scripted model server. */
export default async function agentsBench(): Promise<BenchResult[]> {
  const kit = await startAgentKit({ scenario: ONE_TURN_SCENARIO, sdk: { maxRetries: 0 } });
  // The CPU figures are this process's: with the model server in it, they counted the model's
  // work too (on both sides), which a real model does elsewhere. Here it runs apart.
  const model = await modelServerProcess(ONE_TURN_SCENARIO);
  const apart = await startAgentKit({ scenario: ONE_TURN_SCENARIO, sdk: { maxRetries: 0 }, modelUrl: model.url });
  try {
    return [...(await coldFigures(kit)), ...(await overheadFigures(apart)), ...(await warmFigures(kit))];
  } finally {
    await apart.cleanup();
    model.stop();
    await kit.cleanup();
  }
}

/** The scripted model server with a scenario, in a process of its own (`orchestrator model-server`). */
export async function modelServerProcess(scenario: string): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orch-agents-model-'));
  const file = path.join(dir, 'scenario.yaml');
  writeFileSync(file, scenario);
  const bin = fileURLToPath(new URL('../bin/orchestrator.mjs', import.meta.url));
  const child = spawn(process.execPath, [bin, 'model-server', '--scenario', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1]) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`model server exited (${code}): ${output}`)));
  });
  return {
    url,
    stop() {
      child.kill('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (import.meta.main) {
  for (const row of await agentsBench()) {
    console.log(`${row.name}: ${row.value} ${row.unit}${row.target ? ` (target ${row.target})` : ''}`);
  }
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentProcesses,
  describeResult,
  FEATURE_TEAM_NODES,
  type LogReader,
  openLogReader,
  type RunningProcess,
  startCli,
  tempDir,
  waitFor,
  writeSlowFeatureTeam,
} from '../support/cli-kit.ts';
import { nodeActivityAt, recoveryProblems } from './log-checks.ts';

// The key promise of the README: "a killed process resumes where it stopped: no completed node
// runs again". The demo workflow, slowed down so that nodes run for a second or two, is
// SIGKILLed at a random point early in its log; `orchestrator sessions resume` carries it on
// and is itself SIGKILLed at a random point in the middle, the next resume late, and a last
// resume carries it to the end. The log is then checked for each kill (test/cli/log-checks.ts).
// One session takes the three kills, so the demo runs once rather than once per kill point:
// the resumed run a later kill lands in is the same loop as a fresh run, with a longer log.

/** Seeded, so a failing point can be replayed: CLI_CRASH_SEED=<seed printed below>. */
const SEED = Number(process.env.CLI_CRASH_SEED ?? Date.now() % 2 ** 31);
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = mulberry32(SEED);

/** Turns wait this long, so a node (two turns or more) runs for about a second or two. */
const TURN_DELAY_MS = 300;
/**
 * One kill in each third of the work: early (the plan), middle (the two coders) and late (the
 * review and the triage). A kill comes a random number of events (within `offset`) after the
 * process being killed started the first of the stratum's nodes (the early one: after the
 * run's start). The log's length cannot say where a resumed run is, as each kill and resume
 * adds events of its own. Whatever the draw, a kill comes no later than the (next) start of
 * the run-time `fixup` node, so the workflow is always unfinished when it dies.
 */
const STRATA: ReadonlyArray<{ readonly nodes: readonly string[]; readonly offset: readonly [number, number] }> = [
  { nodes: [], offset: [3, 35] },
  { nodes: ['implement', 'tests'], offset: [0, 30] },
  { nodes: ['review', 'triage'], offset: [0, 20] },
];

const SESSION_ID = 'ses_cli_crash';
let tmp: Awaited<ReturnType<typeof tempDir>>;
let workflow: string;
let dataDir: string;
let reader: LogReader;
/** The process the next kill ends: the run, then each resume. */
let current: RunningProcess | undefined;
/** The last event of the log at each kill. */
const killSeqs: number[] = [];
/** Agent processes of the killed process alive just before each kill (for the last test). */
const aliveAtKill: number[] = [];

beforeAll(async () => {
  tmp = await tempDir('crash');
  workflow = await writeSlowFeatureTeam(path.join(tmp.dir, 'slow-team'), TURN_DELAY_MS);
  dataDir = path.join(tmp.dir, 'data');
  // The test's own reader creates the store first, so polling never races its creation.
  reader = await openLogReader(dataDir);
  console.info(`crash points drawn with CLI_CRASH_SEED=${SEED}`);
});
afterAll(async () => {
  current?.child.kill('SIGKILL');
  await reader?.close();
  await tmp?.cleanup();
});

/** Starts `sessions resume` and checks what it says first: the session, and the run's scenario. */
async function startResume(): Promise<RunningProcess> {
  const resume = startCli(['sessions', 'resume', SESSION_ID], { dataDir });
  const resuming = `resuming session ${SESSION_ID}`;
  const said = await waitFor(
    () => {
      const out = resume.stdout();
      const both = out.includes(resuming) && out.includes('scenario.yaml)');
      return both || resume.child.exitCode !== null ? out : undefined;
    },
    'the resume to name its session and scenario',
    { timeoutMs: 60_000 },
  );
  expect(said, `${said}\n--- stderr\n${resume.stderr()}`).toContain(resuming);
  // The same scenario as the run, found beside the recorded workflow file.
  expect(said).toContain('scenario.yaml)');
  return resume;
}

/**
 * SIGKILLs the current process at a random point of `stratum`, checks that its agent
 * processes died with it, and starts the next resume.
 * @param withAgentAlive the kill waits (a few seconds at most) for a Claude Code process of the
 *   run to be alive, so at least one kill checks that the parent-death signal takes them along
 */
async function killAndResume(stratum: number, withAgentAlive = false): Promise<void> {
  const { nodes, offset } = STRATA[stratum] as (typeof STRATA)[number];
  const [low, high] = offset;
  const target = low + Math.floor(random() * (high - low + 1));
  const run = current as RunningProcess;
  const since = killSeqs.at(-1) ?? 0;
  const reached = await waitFor(
    async () => {
      if (run.child.exitCode !== null) throw new Error(`it ended before the kill:\n${run.stdout()}${run.stderr()}`);
      const events = await reader.events(SESSION_ID);
      const anchor =
        nodes.length === 0
          ? 0
          : events.find((e) => e.seq > since && e.type === 'node.started' && nodes.includes(e.data.nodeId))?.seq;
      if (anchor !== undefined && events.length >= anchor + target) return `${events.length} events`;
      const fixup = events.find((e) => e.seq > since && e.type === 'node.started' && e.data.nodeId === 'fixup');
      return fixup ? `fixup started at seq ${fixup.seq}` : undefined;
    },
    `${target} events of session ${SESSION_ID} after the start of ${nodes.join(' or ') || 'the run'}`,
    { timeoutMs: 90_000, intervalMs: 25 },
  );
  if (withAgentAlive) {
    await waitFor(async () => ((await agentProcesses(dataDir)).length > 0 ? true : undefined), 'an agent process', {
      timeoutMs: 10_000,
      intervalMs: 25,
    }).catch(() => undefined);
  }
  aliveAtKill.push((await agentProcesses(dataDir)).length);
  run.child.kill('SIGKILL');
  const killed = await run.exited;
  expect(killed.signal, describeResult(killed)).toBe('SIGKILL');

  const killSeq = await reader.lastSeq(SESSION_ID);
  killSeqs.push(killSeq);
  const atKill = Object.fromEntries(nodeActivityAt(await reader.events(SESSION_ID), killSeq));
  console.info(`stratum ${stratum}: target ${target}, ${reached}, killed with ${killSeq} events; nodes:`, atKill);

  // The parent-death signal takes every Claude Code process of the killed process with it.
  const leftover = await waitFor(
    async () => ((await agentProcesses(dataDir)).length === 0 ? [] : undefined),
    'the killed process’s agent processes to die',
    { timeoutMs: 15_000, intervalMs: 100 },
  ).catch(async () => agentProcesses(dataDir));
  expect(leftover, 'Claude Code processes that outlived the SIGKILLed CLI').toEqual([]);

  current = await startResume();
}

describe('a run SIGKILLed at random points resumes with `sessions resume`', () => {
  it('early in the run', { timeout: 120_000 }, async () => {
    current = startCli(['run', workflow, '--session', SESSION_ID], { dataDir });
    await killAndResume(0);
  });
  it('in the middle of the run, while an agent runs', { timeout: 120_000 }, () => killAndResume(1, true));
  it('late in the run', { timeout: 120_000 }, () => killAndResume(2));

  it('the last resume completes it: after each kill, no completed node ran again and every node caught running was interrupted', {
    timeout: 120_000,
  }, async () => {
    expect(killSeqs).toHaveLength(STRATA.length);
    const resumed = await (current as RunningProcess).exited;
    current = undefined;
    expect(resumed.code, describeResult(resumed)).toBe(0);

    const events = await reader.events(SESSION_ID);
    for (const killSeq of killSeqs) {
      expect(recoveryProblems(events, killSeq), `killed at seq ${killSeq}`).toEqual([]);
    }
    expect(new Set(events.flatMap((e) => (e.type === 'node.completed' ? [e.data.nodeId] : [])))).toEqual(
      new Set(FEATURE_TEAM_NODES),
    );
    // What the team built survived the crashes: the resumed nodes finished the same files.
    const workspace = path.join(dataDir, 'workspaces', SESSION_ID);
    expect(await readFile(path.join(workspace, 'src', 'csv.ts'), 'utf8')).toContain(
      '/** Parses RFC 4180 CSV text into rows of fields. */',
    );
    expect(await readFile(path.join(workspace, 'test', 'csv.test.ts'), 'utf8')).toContain('parseCsv');
    expect(await agentProcesses(dataDir)).toEqual([]);
  });

  it('found agent processes alive at some kill (so the process check above can fail)', () => {
    expect(aliveAtKill).toHaveLength(STRATA.length);
    expect(
      aliveAtKill.some((n) => n > 0),
      `alive at each kill: ${aliveAtKill.join(', ')}`,
    ).toBe(true);
  });
});

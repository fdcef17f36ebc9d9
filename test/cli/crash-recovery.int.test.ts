import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentProcesses,
  describeResult,
  FEATURE_TEAM_NODES,
  type LogReader,
  openLogReader,
  runCli,
  startCli,
  tempDir,
  waitFor,
  writeSlowFeatureTeam,
} from '../support/cli-kit.ts';
import { nodeActivityAt, recoveryProblems } from './log-checks.ts';

// The key promise of the README: "a killed process resumes where it stopped: no completed node
// runs again". The demo workflow, slowed down so that nodes run for a second or two, is
// SIGKILLed at a random point of its log, then `orchestrator sessions resume` carries it to
// the end, and the log is checked (test/cli/log-checks.ts).

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
 * One kill in each third of the run (the whole run logs about 110 events): early, middle and
 * late. Whatever the draw, the kill comes no later than the start of the run-time `fixup`
 * node, so the workflow is always unfinished when it dies.
 */
const STRATA: ReadonlyArray<readonly [number, number]> = [
  [3, 35],
  [36, 70],
  [71, 95],
];

let tmp: Awaited<ReturnType<typeof tempDir>>;
let workflow: string;
/** Agent processes of the killed run alive just before each kill (for the last test). */
const aliveAtKill: number[] = [];

beforeAll(async () => {
  tmp = await tempDir('crash');
  workflow = await writeSlowFeatureTeam(path.join(tmp.dir, 'slow-team'), TURN_DELAY_MS);
  console.info(`crash points drawn with CLI_CRASH_SEED=${SEED}`);
});
afterAll(async () => {
  await tmp?.cleanup();
});

/**
 * @param withAgentAlive the kill waits (a few seconds at most) for a Claude Code process of the
 *   run to be alive, so at least one kill checks that the parent-death signal takes them along
 */
async function killAndResume(stratum: number, withAgentAlive = false): Promise<void> {
  const [low, high] = STRATA[stratum] as readonly [number, number];
  const target = low + Math.floor(random() * (high - low + 1));
  const dataDir = path.join(tmp.dir, `data-${stratum}`);
  const sessionId = `ses_cli_crash_${stratum}`;
  // The test's own reader creates the store first, so polling never races its creation.
  const reader: LogReader = await openLogReader(dataDir);
  try {
    const run = startCli(['run', workflow, '--session', sessionId], { dataDir });
    const reached = await waitFor(
      async () => {
        if (run.child.exitCode !== null)
          throw new Error(`the run ended before the kill:\n${run.stdout()}${run.stderr()}`);
        const events = await reader.events(sessionId);
        if (events.length >= target) return `${events.length} events`;
        const fixup = events.find((e) => e.type === 'node.started' && e.data.nodeId === 'fixup');
        return fixup ? `fixup started at seq ${fixup.seq}` : undefined;
      },
      `${target} events of session ${sessionId}`,
      { timeoutMs: 90_000, intervalMs: 25 },
    );
    if (withAgentAlive) {
      await waitFor(
        async () => ((await agentProcesses(dataDir)).length > 0 ? true : undefined),
        'an agent process of the run',
        { timeoutMs: 10_000, intervalMs: 25 },
      ).catch(() => undefined);
    }
    aliveAtKill.push((await agentProcesses(dataDir)).length);
    run.child.kill('SIGKILL');
    const killed = await run.exited;
    expect(killed.signal, describeResult(killed)).toBe('SIGKILL');

    const killSeq = await reader.lastSeq(sessionId);
    const atKill = Object.fromEntries(nodeActivityAt(await reader.events(sessionId), killSeq));
    console.info(`stratum ${stratum}: target ${target}, ${reached}, killed with ${killSeq} events; nodes:`, atKill);

    // The parent-death signal takes every Claude Code process of the killed run with it.
    const leftover = await waitFor(
      async () => ((await agentProcesses(dataDir)).length === 0 ? [] : undefined),
      'the killed run’s agent processes to die',
      { timeoutMs: 15_000, intervalMs: 100 },
    ).catch(async () => agentProcesses(dataDir));
    expect(leftover, 'Claude Code processes that outlived the SIGKILLed CLI').toEqual([]);

    const resumed = await runCli(['sessions', 'resume', sessionId], { dataDir });
    expect(resumed.code, describeResult(resumed)).toBe(0);
    expect(resumed.stdout).toContain(`resuming session ${sessionId}`);
    // The same scenario as the run, found beside the recorded workflow file.
    expect(resumed.stdout).toContain('scenario.yaml)');

    const events = await reader.events(sessionId);
    expect(recoveryProblems(events, killSeq), `killed at seq ${killSeq}`).toEqual([]);
    expect(new Set(events.flatMap((e) => (e.type === 'node.completed' ? [e.data.nodeId] : [])))).toEqual(
      new Set(FEATURE_TEAM_NODES),
    );
    // What the team built survived the crash: the resumed nodes finished the same files.
    const workspace = path.join(dataDir, 'workspaces', sessionId);
    expect(await readFile(path.join(workspace, 'src', 'csv.ts'), 'utf8')).toContain(
      '/** Parses RFC 4180 CSV text into rows of fields. */',
    );
    expect(await readFile(path.join(workspace, 'test', 'csv.test.ts'), 'utf8')).toContain('parseCsv');
    expect(await agentProcesses(dataDir)).toEqual([]);
  } finally {
    await reader.close();
  }
}

describe('a run SIGKILLed at a random point resumes with `sessions resume`', () => {
  it('early in the run', { timeout: 120_000 }, () => killAndResume(0));
  it('in the middle of the run, while an agent runs', { timeout: 120_000 }, () => killAndResume(1, true));
  it('late in the run', { timeout: 120_000 }, () => killAndResume(2));

  it('found agent processes alive at some kill (so the process check above can fail)', () => {
    expect(aliveAtKill).toHaveLength(STRATA.length);
    expect(
      aliveAtKill.some((n) => n > 0),
      `alive at each kill: ${aliveAtKill.join(', ')}`,
    ).toBe(true);
  });
});

import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import {
  agentProcesses,
  describeResult,
  type LogReader,
  openLogReader,
  REPO_ROOT,
  runCli,
  startCli,
  tempDir,
  waitFor,
} from '../support/cli-kit.ts';
import { Screen, stripControls } from '../support/screen.ts';
import { startCliOnTerminal } from '../support/terminal-kit.ts';

// A resume tells the past in one summary and goes live from there. The run approves its gate
// (unattended: auto-approved), its worker starts, and the CLI is SIGKILLed; a few seconds
// later `sessions resume` carries on. The approval answered before the crash is neither shown
// again nor answered again (plain output used to print "auto-approved" under it; a terminal
// asked for it again), and the times printed leave the gap out.

const GATE = path.join(REPO_ROOT, 'test', 'fixtures', 'cli', 'gate-then-work.yaml');
/** The time between the crash and the resume, which no printed time may include. */
const GAP_MS = 3000;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let reader: LogReader;
let dataDir: string;
/** The last event of each crashed session at its kill. */
const killSeqs: Record<string, number> = {};
beforeAll(async () => {
  tmp = await tempDir('resume-view');
  dataDir = path.join(tmp.dir, 'data');
  reader = await openLogReader(dataDir);
  // Both sessions crash side by side: one wait for the workers and one gap instead of two.
  const sessions = ['ses_resume_plain', 'ses_resume_tty'];
  await Promise.all(sessions.map((sessionId) => crashWhileWorking(sessionId)));
  await waitFor(async () => (await agentProcesses(dataDir)).length === 0, 'the killed runs’ agents to die', {
    timeoutMs: 15_000,
  });
  for (const sessionId of sessions) killSeqs[sessionId] = await reader.lastSeq(sessionId);
  await sleep(GAP_MS);
}, 180_000);
afterAll(async () => {
  await reader?.close();
  await tmp?.cleanup();
});

/** Runs the gated workflow and kills the CLI while the worker works. */
async function crashWhileWorking(sessionId: string): Promise<void> {
  const run = startCli(['run', GATE, '--yes', '--session', sessionId], { dataDir });
  await waitFor(
    async () => {
      if (run.child.exitCode !== null)
        throw new Error(`the run ended before the kill:\n${run.stdout()}${run.stderr()}`);
      const events = await reader.events(sessionId);
      return events.some((e) => e.type === 'agent.spawned' && e.data.nodeId === 'work');
    },
    'the worker to start',
    { timeoutMs: 90_000, intervalMs: 25 },
  );
  run.child.kill('SIGKILL');
  expect((await run.exited).signal).toBe('SIGKILL');
}

/** Seconds between two events. */
const between = (from: AnyEvent | undefined, to: AnyEvent | undefined) =>
  (Date.parse(to?.ts ?? '') - Date.parse(from?.ts ?? '')) / 1000;

/** The run time printed last: `..., $0.0235 (simulated: scripted model), 8.0s`. */
function printedRunTime(text: string): number {
  const match = /^ {2}\d+ agents, .*, (\d+\.\d)s$/m.exec(text.split('✔ workflow completed').at(-1) ?? '');
  if (!match) throw new Error(`no closing figures in:\n${text}`);
  return Number(match[1]);
}

function checkLog(events: readonly AnyEvent[], killSeq: number): void {
  // One question, answered once, before the crash.
  const asked = events.filter((e) => e.type === 'input.requested');
  const answered = events.filter((e) => e.type === 'user.input');
  expect(asked).toHaveLength(1);
  expect(answered).toHaveLength(1);
  expect(answered[0]?.seq).toBeLessThanOrEqual(killSeq);
  expect(events.at(-1)).toMatchObject({ type: 'workflow.completed', data: { status: 'completed' } });
}

describe('`sessions resume` after a crash', () => {
  it('prints one summary of the past, then what happens now; the answered approval is not shown again', {
    timeout: 180_000,
  }, async () => {
    const sessionId = 'ses_resume_plain';
    const killSeq = killSeqs[sessionId] as number;
    const resumed = await runCli(['sessions', 'resume', sessionId], { dataDir });
    expect(resumed.code, describeResult(resumed)).toBe(0);
    const out = resumed.stdout;
    const lines = out.split('\n');
    const from = lines.indexOf('workflow gate-then-work: 2 nodes  (session ses_resume_plain)');
    expect(from, out).toBeGreaterThan(0);
    expect(lines.slice(from + 1, from + 3)).toEqual([
      '  before this resume: 1 of 2 nodes done: 1 completed (gate); to run again: work',
      expect.stringMatching(/^ {2}spent before: 1 agents, \d+ turns, .*\(simulated: scripted model\), \d+\.\ds$/),
    ]);
    // Nothing of the past is replayed line by line; the approval is neither shown nor answered.
    expect(out).not.toContain('▸ gate');
    expect(out).not.toContain('approval: Start the work?');
    expect(out).not.toContain('auto-approved');
    // Then live: the worker runs again and the workflow completes.
    expect(lines.slice(from + 3).filter((line) => /^ {2}[!▸✓]/.test(line))).toEqual([
      '  ! work      interrupted: the process running it ended',
      '  ▸ work      started (attempt 2)',
      expect.stringMatching(/^ {2}✓ work {6}completed \d+\.\ds {2}\$0\.\d{4}$/),
    ]);

    const events = await reader.events(sessionId);
    checkLog(events, killSeq);
    // The gap is left out: the run time printed is the log's, from start to end, less the gap.
    const started = events.find((e) => e.type === 'workflow.started');
    const resumedAt = events.find((e) => e.type === 'session.resumed');
    const wall = between(started, events.at(-1));
    const gap = between(
      events.find((e) => e.seq === killSeq),
      resumedAt,
    );
    expect(gap).toBeGreaterThanOrEqual(GAP_MS / 1000);
    expect(printedRunTime(out)).toBeCloseTo(wall - gap, 0);
    expect(printedRunTime(out)).toBeLessThan(wall - GAP_MS / 1000 + 0.1);
    // The worker's time is that of its attempt after the resume.
    const attempt2 = events.find((e) => e.type === 'node.started' && e.data.nodeId === 'work' && e.data.attempt === 2);
    const done = events.find((e) => e.type === 'node.completed' && e.data.nodeId === 'work');
    expect(out).toContain(`  ✓ work      completed ${between(attempt2, done).toFixed(1)}s`);
  });

  it('on a terminal, asks nothing answered before, and goes live after the summary', { timeout: 180_000 }, async () => {
    const sessionId = 'ses_resume_tty';
    const killSeq = killSeqs[sessionId] as number;
    const term = startCliOnTerminal(['sessions', 'resume', sessionId], { dataDir });
    try {
      // A prompt here would wait for ever: fail as soon as one shows.
      let result: Awaited<typeof term.exited> | undefined;
      while (result === undefined) {
        if (term.output().includes('approve? [y/N]')) throw new Error(`asked again:\n${term.output()}`);
        result = await Promise.race([term.exited, sleep(100).then(() => undefined)]);
      }
      expect(result.code, result.output).toBe(0);
      const summaryAt = result.output.indexOf('  before this resume: 1 of 2 nodes done: 1 completed (gate)');
      expect(summaryAt, result.output).toBeGreaterThan(0);
      // Live frames after the summary: the worker running again.
      expect(stripControls(result.output.slice(summaryAt))).toMatch(/── gate-then-work · 1\/2 done · 1 running/);
      const screen = new Screen(200).write(result.output).lines();
      expect(screen.filter((line) => line.startsWith('──'))).toEqual([]);
      expect(screen.filter((line) => /(^|[\s(])gate([\s),;]|$)/.test(line))).toEqual([
        '  before this resume: 1 of 2 nodes done: 1 completed (gate); to run again: work',
      ]);
      expect(screen.at(-2)).toBe('✔ workflow completed');
      checkLog(await reader.events(sessionId), killSeq);
    } finally {
      term.kill();
    }
  });
});

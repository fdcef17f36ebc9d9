import { recordOrphanSweep, sweepOrphans } from '../agents/index.ts';
import type { OrchestratorConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { Orchestrator, type WorkflowHandle } from '../orchestrator/index.ts';
import { secretRedactor } from '../security/index.ts';
import { parsePairs } from './args.ts';
import { EXIT } from './exit.ts';
import { type FollowResult, followRun } from './follow.ts';
import { renderLiveBlock } from './live-block.ts';
import { liveOutput, plainOutput, type RunOutput, wantsLiveView } from './live-output.ts';
import { ProgressView } from './progress.ts';

/** What `run` and `sessions resume` share: how to follow a run in the terminal. */
export interface DriveOptions {
  readonly config: OrchestratorConfig;
  /** The offline scenario, when one is forced or found; undefined = the model access decides. */
  readonly scenario: string | undefined;
  readonly json: boolean;
  /** False with `--no-live`: plain lines even on a terminal. */
  readonly live: boolean;
  readonly yes: boolean;
  /** `--answer node=value` pairs. */
  readonly answers: readonly string[];
  /** Starts (or resumes) the run on the open orchestrator. */
  start(orchestrator: Orchestrator, say: (line: string) => void): Promise<WorkflowHandle>;
  /** Said after a run that did not complete, with the final state. */
  onUnfinished?(handle: WorkflowHandle, status: string, say: (line: string) => void): void;
}

/** The signal that stopped a run, if one did. */
type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * Opens an orchestrator, starts a run, follows it with progress lines (above a live block on a
 * terminal, see {@link wantsLiveView}) or JSON lines until it settles, and sets the exit code (see {@link EXIT}): 0 completed, 1 failed or cancelled, 75
 * paused by its budget, 130 stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM. A stopped or
 * paused run has its agents stopped and its session left resumable.
 */
export async function driveRun(options: DriveOptions): Promise<void> {
  // Notices go where the progress goes (stderr beside JSON lines); through the live block's
  // output while it is up, so that a notice (Ctrl-C's) scrolls above it instead of into it.
  let output = plainOutput(options.json ? process.stderr : process.stdout);
  const say = (line: string) => output.lines([line]);
  // Checked before anything opens or starts: a typo must cost nothing.
  const answers = parsePairs(options.answers, '--answer');
  const redactor = secretRedactor(options.config);
  const orchestrator = await Orchestrator.open({
    config: options.config,
    scenario: options.scenario,
    redactor,
    logger: createLogger({ level: options.config.logLevel, redactor }),
    notice: say,
  });
  let handle: WorkflowHandle | undefined;
  let stoppedBy: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy) return;
    stoppedBy = signal;
    say('\ninterrupted: stopping agents; the session stays resumable');
    void handle?.suspend();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await sweepLeftovers(orchestrator, say);
    handle = await options.start(orchestrator, say);
    // A signal that came while the run was being started stops it now.
    if (stoppedBy) void handle.suspend();
    const simulated = orchestrator.model.scripted !== undefined;
    const view = new ProgressView({ simulated });
    output = await progressOutput(view, options);
    let outcome: FollowResult;
    try {
      outcome = await followRun(handle, {
        json: options.json,
        answers: {
          interactive: process.stdin.isTTY === true && !options.yes,
          answers,
        },
        lastSeq: () => orchestrator.log.lastSeq(handle?.sessionId as string),
        output: options.json ? plainOutput(process.stdout) : output,
        view,
        simulated,
      });
    } finally {
      output.close();
    }
    process.exitCode = exitCodeOf(outcome, stoppedBy);
    if (outcome.state.status !== 'completed') options.onUnfinished?.(handle, outcome.state.status, say);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await orchestrator.close();
  }
}

/** Plain lines, or lines above the live block when a person watches a terminal. */
async function progressOutput(view: ProgressView, options: DriveOptions): Promise<RunOutput> {
  const stdout = process.stdout;
  const facts = { isTTY: stdout.isTTY, columns: stdout.columns, rows: stdout.rows };
  if (!wantsLiveView({ ...facts, json: options.json, live: options.live, env: process.env })) {
    return plainOutput(options.json ? process.stderr : stdout);
  }
  return liveOutput(stdout, {
    // Read at each frame: the terminal may be resized while the run goes on.
    frame: (nowMs) =>
      renderLiveBlock(view.view, {
        nowMs,
        columns: stdout.columns,
        maxLines: Math.max(3, Math.min(12, stdout.rows - 2)),
        simulated: view.simulated,
      }),
  });
}

/**
 * Ends the processes an orchestrator that died on this data directory left behind (the tools
 * its agents ran), and records that in their sessions. Processes of a live orchestrator on
 * the same directory are left alone.
 */
async function sweepLeftovers(orchestrator: Orchestrator, say: (line: string) => void): Promise<void> {
  const swept = await sweepOrphans({ dataDir: orchestrator.config.dataDir });
  if (swept.pids.length === 0) return;
  say(
    `ended ${swept.pids.length} process(es) left behind by an orchestrator that died (pids ${swept.pids.join(', ')}${swept.sessions.length > 0 ? `; sessions ${swept.sessions.join(', ')}` : ''})`,
  );
  await recordOrphanSweep(orchestrator.log, swept);
}

/** The exit code of a followed run; a run neither ended nor paused by its budget was stopped by a signal. */
function exitCodeOf(outcome: FollowResult, stoppedBy: StopSignal | undefined): number {
  const status = outcome.state.status;
  if (status === 'completed') return EXIT.ok;
  if (status === 'failed' || status === 'cancelled') return EXIT.failed;
  if (stoppedBy === 'SIGTERM') return EXIT.terminated;
  if (stoppedBy === 'SIGINT') return EXIT.interrupted;
  if (outcome.budgetPause !== undefined) return EXIT.budgetPaused;
  return EXIT.interrupted;
}

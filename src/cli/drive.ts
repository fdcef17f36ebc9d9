import type { OrchestratorConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { Orchestrator, type WorkflowHandle } from '../orchestrator/index.ts';
import { followRun, parsePairs } from './follow.ts';

/** What `run` and `sessions resume` share: how to follow a run in the terminal. */
export interface DriveOptions {
  readonly config: OrchestratorConfig;
  /** The offline scenario, when one is forced or found; undefined = the model access decides. */
  readonly scenario: string | undefined;
  readonly json: boolean;
  readonly yes: boolean;
  /** `--answer node=value` pairs. */
  readonly answers: readonly string[];
  /** Starts (or resumes) the run on the open orchestrator. */
  start(orchestrator: Orchestrator, say: (line: string) => void): Promise<WorkflowHandle>;
  /** Said after a run that did not complete, with the final state. */
  onUnfinished?(handle: WorkflowHandle, status: string, say: (line: string) => void): void;
}

/**
 * Opens an orchestrator, starts a run, follows it with live progress (or JSON lines) until it
 * settles, and sets the exit code: 0 completed, 1 failed or cancelled, 130 stopped by Ctrl-C
 * or SIGTERM (the agents are stopped and the session stays resumable) or paused.
 */
export async function driveRun(options: DriveOptions): Promise<void> {
  const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const orchestrator = await Orchestrator.open({
    config: options.config,
    scenario: options.scenario,
    logger: createLogger({ level: options.config.logLevel }),
    notice: say,
  });
  let handle: WorkflowHandle | undefined;
  const onSignal = () => {
    say('\ninterrupted: stopping agents; the session stays resumable');
    void handle?.suspend();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    handle = await options.start(orchestrator, say);
    const final = await followRun(handle, {
      json: options.json,
      answers: {
        interactive: process.stdin.isTTY === true && !options.yes,
        answers: parsePairs(options.answers, '--answer'),
      },
    });
    process.exitCode =
      final.status === 'completed' ? 0 : final.status === 'running' || final.status === 'paused' ? 130 : 1;
    if (final.status !== 'completed') options.onUnfinished?.(handle, final.status, say);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await orchestrator.close();
  }
}

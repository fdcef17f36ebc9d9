import type { Command } from 'commander';
import type { OrchestratorConfig } from '../../config/index.ts';
import type { AnyEvent } from '../../events/index.ts';
import type { EventLog } from '../../log/index.ts';
import type { monitorSettings } from '../../monitor/index.ts';
import type { WorkflowHandle } from '../../orchestrator/index.ts';
import { addBudgetOptions, type BudgetFlags, collect, parsePositiveInt } from '../args.ts';
import { type GlobalOptions, openStore } from '../context.ts';
import { EXIT } from '../exit.ts';

interface ResumeFlags extends BudgetFlags {
  answer: string[];
  yes?: boolean;
  json?: boolean;
  /** False with `--no-live`. */
  live?: boolean;
  modelServer?: string;
  modelLog?: string;
  version?: string;
}

/**
 * `orchestrator sessions resume ID`: carries on an unfinished workflow in this process. A
 * workflow its budget paused carries on only when the limits in force now (environment or
 * `--budget-*` flags) are no longer reached; otherwise the command says which limit holds it
 * and exits 75 without touching the session.
 */
export function registerResume(sessions: Command): void {
  const resume = sessions
    .command('resume')
    .argument('<sessionId>', 'the session')
    .description('carry on the unfinished workflow of a session (after a crash, Ctrl-C or pause)')
    .option('-a, --answer <node=value>', 'answer for a human or approval node (repeatable)', collect, [])
    .option('-y, --yes', 'approve approvals without asking')
    .option('--json', 'print events as JSON lines instead of progress')
    .option('--no-live', 'plain progress lines even on a terminal (no live block at the bottom)')
    .option(
      '--model-server <scenario>',
      'use the offline scripted model with this scenario file (default: the scenario the run was started with, if it ran offline)',
    )
    .option(
      '--model-log <file>',
      "append the scripted model's requests to this file as JSON lines (env ORCHESTRATOR_MODEL_LOG)",
    )
    .option('--version <n>', 'carry on from this version instead: a fork of it; the original stays as it was');
  addBudgetOptions(resume).action(async (sessionId: string, flags: ResumeFlags, command: Command) => {
    const [
      { checkSafeName },
      { budgetPauseOf, describeReached, monitorSettings },
      { runConfig },
      { driveRun },
      { resumeScenario },
    ] = await Promise.all([
      import('../../security/index.ts'),
      import('../../monitor/index.ts'),
      import('../run-config.ts'),
      import('../drive.ts'),
      import('../scenario-choice.ts'),
    ]);
    checkSafeName(sessionId, 'sessionId');
    const version = flags.version === undefined ? undefined : parsePositiveInt(flags.version, '--version');
    const config = runConfig(command.optsWithGlobals<GlobalOptions>(), flags);
    const budget = monitorSettings(config).budget;
    const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
    const recorded = await readSession(config, sessionId);
    // Still over its budget: nothing would run; say so before anything is recorded.
    const pause = version === undefined ? budgetPauseOf(sessionId, recorded, budget) : undefined;
    if (pause && pause.reached.length > 0) {
      say(
        `session ${sessionId} is still paused by its budget: ${describeReached(pause.reached)}; raise it (--budget-session, --budget-workflow, --budget-agent-type or ORCHESTRATOR_BUDGET_*), then resume again`,
      );
      process.exitCode = EXIT.budgetPaused;
      return;
    }
    // Offline, the session goes on with the scenario its run was started with, not the
    // fallback one, which cannot script its agents.
    const { scenario, notice } = await resumeScenario({
      flag: flags.modelServer,
      events: recorded,
      apiKey: config.anthropicApiKey !== undefined,
    });
    if (notice !== undefined) say(notice);
    await driveRun({
      config,
      scenario,
      json: flags.json === true,
      live: flags.live !== false,
      yes: flags.yes === true,
      answers: flags.answer,
      async start(orchestrator, tell) {
        const handle = await orchestrator.resumeSession(sessionId, { version });
        tell(
          version === undefined
            ? `resuming session ${sessionId} (workspace ${handle.workspace})`
            : `resuming version ${version} of ${sessionId} as the new session ${handle.sessionId} (workspace ${handle.workspace})`,
        );
        await carryOnPaused(handle, orchestrator.log, budget, tell);
        return handle;
      },
    });
  });
}

/**
 * A resumed workflow that was left paused starts paused: resume it when its budget no longer
 * holds it (or it was paused for another reason: the user asked to carry on). One still over
 * its budget stays paused, and the command ends with it as with any budget pause.
 */
async function carryOnPaused(
  handle: WorkflowHandle,
  log: EventLog,
  budget: ReturnType<typeof monitorSettings>['budget'],
  say: (line: string) => void,
): Promise<void> {
  if (!handle.state.paused) return;
  const { budgetPauseOf } = await import('../../monitor/index.ts');
  const events: AnyEvent[] = [];
  for await (const event of log.readAll(handle.sessionId)) events.push(event);
  const pause = budgetPauseOf(handle.sessionId, events, budget);
  if (pause === undefined) {
    handle.resume('resumed on request');
  } else if (pause.reached.length === 0) {
    say('  budget raised: the workflow carries on');
    handle.resume(`budget raised; it was paused by ${pause.reason}`);
  }
}

/** Every event of a session ([] when it does not exist: resuming it then says so). */
async function readSession(config: OrchestratorConfig, sessionId: string): Promise<AnyEvent[]> {
  const { EventLog } = await import('../../log/index.ts');
  const log = new EventLog(await openStore(config));
  try {
    const events: AnyEvent[] = [];
    for await (const event of log.readAll(sessionId)) events.push(event);
    return events;
  } finally {
    await log.close();
  }
}

import type { Command } from 'commander';
import { loadConfig, type OrchestratorConfig } from '../../config/index.ts';
import { OrchestratorError } from '../../errors/index.ts';
import { EventLog } from '../../log/index.ts';
import { applyMetricsEvent, emptyMetrics } from '../../monitor/index.ts';
import { createCliContext, type GlobalOptions, openStore } from '../context.ts';
import { driveRun } from '../drive.ts';
import { formatSessionFigures } from '../figures.ts';
import { formatTable } from '../format.ts';
import { registerControlCommands } from './control.ts';
import { registerPruneCommand } from './prune.ts';
import { scenarioBeside } from './run.ts';
import { parseNumber, registerVersionCommands } from './versions.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `orchestrator sessions list | show ID`, and the verbs of versions, resume and prune. */
export function registerSessionsCommand(program: Command): void {
  const sessions = program.command('sessions').description('inspect sessions stored in the event log');

  registerResume(sessions);
  registerControlCommands(sessions);
  registerVersionCommands(sessions);
  registerPruneCommand(sessions);

  sessions
    .command('list')
    .description('list sessions, newest first')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON lines')
    .action(async (options: { limit: string; json?: boolean }, command: Command) => {
      const context = createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const log = await context.openLog();
        const rows = await log.listSessions({ limit: parsePositiveInt(options.limit, '--limit') });
        if (options.json) {
          for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
        } else if (rows.length === 0) {
          process.stdout.write('no sessions\n');
        } else {
          process.stdout.write(
            formatTable(
              ['SESSION', 'EVENTS', 'CREATED', 'UPDATED'],
              rows.map((r) => [r.sessionId, String(r.lastSeq), r.createdAt, r.updatedAt]),
            ),
          );
        }
      } finally {
        await context.close();
      }
    });

  sessions
    .command('show')
    .argument('<sessionId>', 'the session')
    .description('summarize one session: tokens, cost, turns, tool calls, times, errors, alerts; events by type')
    .option('--json', 'print JSON')
    .action(async (sessionId: string, options: { json?: boolean }, command: Command) => {
      const context = createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const log = await context.openLog();
        const lastSeq = await log.lastSeq(sessionId);
        if (lastSeq === 0) {
          throw new OrchestratorError(
            'SESSION_NOT_FOUND',
            `no session "${sessionId}" in the ${context.config.store} store`,
          );
        }
        const byType: Record<string, number> = {};
        let first: string | undefined;
        let last: string | undefined;
        const metrics = emptyMetrics(sessionId);
        for await (const event of log.readAll(sessionId)) {
          byType[event.type] = (byType[event.type] ?? 0) + 1;
          first ??= event.ts;
          last = event.ts;
          applyMetricsEvent(metrics, event);
        }
        const summary = { sessionId, events: lastSeq, firstEventAt: first, lastEventAt: last, byType, metrics };
        if (options.json) {
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        } else {
          process.stdout.write(
            `session ${sessionId}${metrics.name ? ` (${metrics.name})` : ''}\n  events:    ${lastSeq}, from ${first} to ${last}\n`,
          );
          process.stdout.write(`${formatSessionFigures(metrics)}\n`);
          process.stdout.write(
            formatTable(
              ['TYPE', 'COUNT'],
              Object.entries(byType).map(([t, n]) => [t, String(n)]),
            ),
          );
        }
      } finally {
        await context.close();
      }
    });
}

/** `orchestrator sessions resume ID`: carries on an unfinished workflow in this process. */
function registerResume(sessions: Command): void {
  sessions
    .command('resume')
    .argument('<sessionId>', 'the session')
    .description('carry on the unfinished workflow of a session (after a crash, Ctrl-C or pause)')
    .option('-a, --answer <node=value>', 'answer for a human or approval node (repeatable)', collect, [])
    .option('-y, --yes', 'approve approvals without asking')
    .option('--json', 'print events as JSON lines instead of progress')
    .option('--model-server <scenario>', 'use the offline scripted model with this scenario file')
    .option('--version <n>', 'carry on from this version instead: a fork of it; the original stays as it was')
    .action(
      async (
        sessionId: string,
        flags: { answer: string[]; yes?: boolean; json?: boolean; modelServer?: string; version?: string },
        command: Command,
      ) => {
        const version = flags.version === undefined ? undefined : parseNumber(flags.version, '--version');
        const globals = command.optsWithGlobals<GlobalOptions>();
        const config = loadConfig({
          dataDir: globals.dataDir,
          store: globals.store,
          logLevel: globals.logLevel ?? 'warn',
        });
        // Offline, the session goes on with the scenario its run used (the one beside the
        // recorded workflow file), not the fallback one, which cannot script its agents.
        const scenario =
          flags.modelServer ?? (config.anthropicApiKey ? undefined : await recordedScenario(config, sessionId));
        await driveRun({
          config,
          scenario,
          json: flags.json === true,
          yes: flags.yes === true,
          answers: flags.answer,
          async start(orchestrator, say) {
            const handle = await orchestrator.resumeSession(sessionId, { version });
            say(
              version === undefined
                ? `resuming session ${sessionId} (workspace ${handle.workspace})`
                : `resuming version ${version} of ${sessionId} as the new session ${handle.sessionId} (workspace ${handle.workspace})`,
            );
            return handle;
          },
        });
      },
    );
}

/** The scenario beside the workflow file the session's latest workflow was loaded from, if any. */
async function recordedScenario(config: OrchestratorConfig, sessionId: string): Promise<string | undefined> {
  const log = new EventLog(await openStore(config));
  try {
    let file: string | undefined;
    for await (const event of log.readAll(sessionId)) {
      if (event.type === 'workflow.started') file = event.data.file;
    }
    return file === undefined ? undefined : scenarioBeside(file);
  } finally {
    await log.close();
  }
}

/** Parses a CLI integer flag, failing with a message that names the flag. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new OrchestratorError('INVALID_ARGUMENT', `${flag} expects a positive integer, got "${value}"`);
  }
  return n;
}

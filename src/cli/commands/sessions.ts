import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import { applyMetricsEvent, emptyMetrics } from '../../monitor/index.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatSessionFigures } from '../figures.ts';
import { formatTable } from '../format.ts';
import { registerCassetteCommand } from './cassette.ts';
import { registerControlCommands } from './control.ts';
import { registerGrantCommands } from './grants.ts';
import { registerPruneCommand } from './prune.ts';
import { registerResume } from './resume.ts';
import { registerVersionCommands } from './versions.ts';

/** `orchestrator sessions list | show ID`, and the verbs of versions, resume, prune and cassettes. */
export function registerSessionsCommand(program: Command): void {
  const sessions = program.command('sessions').description('inspect sessions stored in the event log');

  registerResume(sessions);
  registerControlCommands(sessions);
  registerGrantCommands(sessions);
  registerVersionCommands(sessions);
  registerPruneCommand(sessions);
  registerCassetteCommand(sessions);

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

/** Parses a CLI integer flag, failing with a message that names the flag. */
export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new OrchestratorError('INVALID_ARGUMENT', `${flag} expects a positive integer, got "${value}"`);
  }
  return n;
}

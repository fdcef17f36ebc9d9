import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import { sessionReport, sessionRows } from '../../reports/index.ts';
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
        const limit = parsePositiveInt(options.limit, '--limit');
        const rows = await sessionRows(await context.openReports(), { limit });
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
        const summary = await sessionReport(await context.openReports(), sessionId);
        const { metrics, byType } = summary;
        if (options.json) {
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        } else {
          process.stdout.write(
            `session ${sessionId}${metrics.name ? ` (${metrics.name})` : ''}\n  events:    ${summary.events}, from ${summary.firstEventAt} to ${summary.lastEventAt}\n`,
          );
          process.stdout.write(`${formatSessionFigures(summary)}\n`);
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

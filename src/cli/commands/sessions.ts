import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import type { RowStatus } from '../../reports/index.ts';
import { parsePositiveInt } from '../args.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { registerCassetteCommand } from './cassette.ts';
import { registerControlCommands } from './control.ts';
import { registerGrantCommands } from './grants.ts';
import { registerPayloadCommand } from './payload.ts';
import { registerPruneCommand } from './prune.ts';
import { registerResume } from './resume.ts';
import { registerVersionCommands } from './versions.ts';

/**
 * The statuses `sessions list --status` takes, as its help lists them: the sessions area's
 * `ROW_STATUSES` of the reports area, spelled out here so that `--help` loads nothing (a test keeps them equal).
 */
export const LIST_STATUSES: readonly RowStatus[] = [
  'running',
  'awaiting_input',
  'paused',
  'interrupted',
  'rolling_back',
  'completed',
  'failed',
  'cancelled',
  'empty',
  'unreadable',
];

interface ListFlags {
  limit: string;
  status?: string;
  workflow?: string;
  search?: string;
  json?: boolean;
}

/** `orchestrator sessions list | show ID`, and the verbs of versions, resume, prune and cassettes. */
export function registerSessionsCommand(program: Command): void {
  const sessions = program.command('sessions').description('inspect sessions stored in the event log');

  registerResume(sessions);
  registerControlCommands(sessions);
  registerGrantCommands(sessions);
  registerVersionCommands(sessions);
  registerPruneCommand(sessions);
  registerCassetteCommand(sessions);
  registerPayloadCommand(sessions);

  sessions
    .command('list')
    .description('list sessions, newest first: status, workflow, cost, events, age')
    .option('--limit <n>', 'at most this many', '50')
    .option('--status <list>', `only sessions in these states (comma-separated: ${LIST_STATUSES.join(', ')})`)
    .option('--workflow <name>', 'only sessions of this workflow')
    .option('--search <text>', 'only sessions whose id or workflow name contains this text (any case)')
    .option('--json', 'one JSON line per session, with the same fields')
    .addHelpText(
      'after',
      '\nA session whose workflow was going when its process died (or was stopped) is "interrupted":\nno live process owns it, and `sessions resume ID` carries it on. Cost is simulated ("sim")\nfor a session the offline scripted model answered.',
    )
    .action(async (flags: ListFlags, command: Command) => {
      const limit = parsePositiveInt(flags.limit, '--limit');
      const statuses = flags.status === undefined ? undefined : parseStatuses(flags.status);
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const { sessionRows } = await import('../../reports/index.ts');
        const listed = await sessionRows(await context.openReports(), {
          limit,
          statuses,
          workflow: flags.workflow,
          query: flags.search,
        });
        if (flags.json) {
          for (const session of listed) process.stdout.write(`${JSON.stringify(session)}\n`);
        } else if (listed.length === 0) {
          process.stdout.write(
            flags.status || flags.workflow || flags.search ? 'no sessions match\n' : 'no sessions\n',
          );
        } else {
          const { formatSessionList } = await import('../session-list.ts');
          process.stdout.write(formatSessionList(listed, Date.now()));
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
      const [{ sessionReport }, { formatSessionFigures }] = await Promise.all([
        import('../../reports/index.ts'),
        import('../figures.ts'),
      ]);
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
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

/**
 * `--status a,b`: known statuses only.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the unknown ones and the known ones
 */
function parseStatuses(text: string): RowStatus[] {
  const given = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = given.filter((s) => !LIST_STATUSES.includes(s as RowStatus));
  if (given.length === 0 || unknown.length > 0) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `--status expects one or more of ${LIST_STATUSES.join(', ')}, got "${text}"`,
      { details: { field: '--status', unknown } },
    );
  }
  return given as RowStatus[];
}

import { type Command, Option } from 'commander';
import type { StatsGrouping } from '../../monitor/index.ts';
import { parsePositiveInt } from '../args.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';

/** `orchestrator stats [--by agent-type|workflow|day] [--json]`: costs and tokens over all sessions. */
export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('summarize costs, tokens, turns and tool calls over all sessions')
    .addOption(
      new Option('--by <grouping>', 'group by agent type, workflow name or day (UTC)')
        .choices(['agent-type', 'workflow', 'day'])
        .default('agent-type'),
    )
    .option('--sessions <n>', 'only the newest N sessions')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { by: StatsGrouping; sessions?: string; json?: boolean }, command: Command) => {
      const [{ statistics }, { formatStats }] = await Promise.all([
        import('../../reports/index.ts'),
        import('../figures.ts'),
      ]);
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const limit = options.sessions === undefined ? undefined : parsePositiveInt(options.sessions, '--sessions');
        const summary = await statistics(await context.openReports(), {
          by: options.by,
          ...(limit !== undefined && { sessions: limit }),
        });
        // A damaged session is left out, not the end of every figure: said on stderr, named.
        for (const skipped of summary.skipped) {
          process.stderr.write(
            `warning: left out session ${skipped.sessionId}, which cannot be read: [${skipped.code}] ${skipped.message}\n`,
          );
        }
        if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else if (summary.rows.length === 0) process.stdout.write('no agents in any session\n');
        else process.stdout.write(formatStats(summary));
      } finally {
        await context.close();
      }
    });
}

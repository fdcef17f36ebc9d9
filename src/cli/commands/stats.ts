import { type Command, Option } from 'commander';
import type { EventLog } from '../../log/index.ts';
import type { MetricsState, StatsGrouping } from '../../monitor/index.ts';
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
      const [{ summarize }, { formatStats }] = await Promise.all([
        import('../../monitor/index.ts'),
        import('../figures.ts'),
      ]);
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const log = await context.openLog();
        const limit = options.sessions === undefined ? undefined : parsePositiveInt(options.sessions, '--sessions');
        const summary = summarize(await allMetrics(log, limit), options.by);
        if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else if (summary.rows.length === 0) process.stdout.write('no agents in any session\n');
        else process.stdout.write(formatStats(summary));
      } finally {
        await context.close();
      }
    });
}

/** The metrics of every session (newest first, at most `limit`), each replayed from its log. */
async function allMetrics(log: EventLog, limit: number | undefined): Promise<MetricsState[]> {
  const { replayMetrics } = await import('../../monitor/index.ts');
  const out: MetricsState[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await log.listSessions({ limit: 100, ...(before !== undefined && { before }) });
    for (const session of page) {
      if (limit !== undefined && out.length >= limit) return out;
      const events = [];
      for await (const event of log.readAll(session.sessionId)) events.push(event);
      out.push(replayMetrics(session.sessionId, events));
    }
    if (page.length < 100) return out;
    before = page.at(-1)?.sessionId;
  }
}

import { replayMetrics, type StatsGrouping, type StatsSummary, summarize } from '../monitor/index.ts';
import { type ReportSource, readEvents } from './source.ts';

/** Which sessions {@link statistics} covers and how it groups them. */
export interface StatisticsOptions {
  /** @default 'agent-type' */
  readonly by?: StatsGrouping;
  /** Only the newest N sessions. @default every session */
  readonly sessions?: number;
}

/** Statistics over sessions: one row per group, most expensive first, and the total. */
export type StatisticsReport = StatsSummary;

/** Sessions read per page of the store's list. */
const PAGE = 100;

/**
 * Costs, tokens, turns and tool calls over the stored sessions (newest first, at most
 * `options.sessions`), grouped by agent type, workflow or day: what `orchestrator stats` prints.
 */
export async function statistics(source: ReportSource, options: StatisticsOptions = {}): Promise<StatisticsReport> {
  const limit = options.sessions;
  const metrics = [];
  let before: string | undefined;
  for (;;) {
    const page = await source.listSessions({ limit: PAGE, ...(before !== undefined && { before }) });
    for (const session of page) {
      if (limit !== undefined && metrics.length >= limit) break;
      metrics.push(replayMetrics(session.sessionId, await readEvents(source, session.sessionId)));
    }
    if (page.length < PAGE || (limit !== undefined && metrics.length >= limit)) break;
    before = page.at(-1)?.sessionId;
  }
  return summarize(metrics, options.by ?? 'agent-type');
}

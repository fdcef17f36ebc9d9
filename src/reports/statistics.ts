import { toOrchestratorError } from '../errors/index.ts';
import {
  type MetricsState,
  replayMetrics,
  type StatsGrouping,
  type StatsSummary,
  summarize,
} from '../monitor/index.ts';
import { type ReportSource, readEvents } from './source.ts';

/** Which sessions {@link statistics} covers and how it groups them. */
export interface StatisticsOptions {
  /** @default 'agent-type' */
  readonly by?: StatsGrouping;
  /** Only the newest N sessions. @default every session */
  readonly sessions?: number;
}

/** A session left out of statistics because it could not be read or replayed, and why. */
export interface SkippedSession {
  readonly sessionId: string;
  /** The error's code (`STORE_CORRUPT` for a damaged row). */
  readonly code: string;
  readonly message: string;
}

/**
 * Statistics over sessions: one row per group, most expensive first, and the total, each spend
 * counted once; and the sessions left out, each with why.
 */
export interface StatisticsReport extends StatsSummary {
  readonly skipped: readonly SkippedSession[];
}

/** Sessions read per page of the store's list. */
const PAGE = 100;

/** Errors about the store as a whole: no other session would read either, so they end the command. */
const STORE_WIDE = new Set(['STORE_UNAVAILABLE', 'STORE_CLOSED']);

/**
 * Costs, tokens, turns and tool calls over the stored sessions (newest first, at most
 * `options.sessions`), grouped by agent type, workflow or day: what `orchestrator stats` prints.
 * Each spend counts once (see {@link countEachSpendOnce}); a session that cannot be read (a
 * damaged row) is skipped and named in `skipped`, the others are summed.
 * @throws OrchestratorError `STORE_UNAVAILABLE`, `STORE_CLOSED`
 */
export async function statistics(source: ReportSource, options: StatisticsOptions = {}): Promise<StatisticsReport> {
  const limit = options.sessions;
  const metrics: MetricsState[] = [];
  const skipped: SkippedSession[] = [];
  let seen = 0;
  let before: string | undefined;
  for (;;) {
    const page = await source.listSessions({ limit: PAGE, ...(before !== undefined && { before }) });
    for (const { sessionId } of page) {
      if (limit !== undefined && seen >= limit) break;
      seen++;
      try {
        metrics.push(replayMetrics(sessionId, await readEvents(source, sessionId)));
      } catch (error) {
        const failure = toOrchestratorError(error);
        if (STORE_WIDE.has(failure.code)) throw failure;
        skipped.push({ sessionId, code: failure.code, message: failure.message });
      }
    }
    if (page.length < PAGE || (limit !== undefined && seen >= limit)) break;
    before = page.at(-1)?.sessionId;
  }
  const origins = new Set(metrics.flatMap((m) => Object.values(m.agents).flatMap((a) => a.inheritedFrom ?? [])));
  const present = new Set<string>();
  for (const origin of origins) if ((await source.lastSeq(origin)) > 0) present.add(origin);
  return { ...summarize(countEachSpendOnce(metrics, present), options.by ?? 'agent-type'), skipped };
}

/**
 * The sessions' metrics with every agent whose spending is counted elsewhere left out, so that
 * each spend counts once. A fork or an import copies the agents of its origin's history (marked
 * `inheritedFrom`): their spending was made in the origin, which counts it when it is in the
 * store (`present`). An origin that is not (imported from another store, or deleted) is counted
 * once, from the copy that holds the most of its agents (copies of one history share its start).
 * Pure; `sessions` is not changed.
 */
export function countEachSpendOnce(sessions: readonly MetricsState[], present: ReadonlySet<string>): MetricsState[] {
  // For each absent origin, the session whose copy of it is the largest.
  const keeper = new Map<string, { sessionId: string; agents: number }>();
  for (const metrics of sessions) {
    const counts = new Map<string, number>();
    for (const agent of Object.values(metrics.agents)) {
      const from = agent.inheritedFrom;
      if (from === undefined || from === metrics.sessionId || present.has(from)) continue;
      counts.set(from, (counts.get(from) ?? 0) + 1);
    }
    for (const [from, agents] of counts) {
      const best = keeper.get(from);
      if (!best || agents > best.agents) keeper.set(from, { sessionId: metrics.sessionId, agents });
    }
  }
  return sessions.map((metrics) => {
    const agents = Object.fromEntries(
      Object.entries(metrics.agents).filter(([, agent]) => {
        const from = agent.inheritedFrom;
        return from === undefined || from === metrics.sessionId || keeper.get(from)?.sessionId === metrics.sessionId;
      }),
    );
    return Object.keys(agents).length === Object.keys(metrics.agents).length ? metrics : { ...metrics, agents };
  });
}

import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { applyMetricsEvent, emptyMetrics, type MetricsState } from '../monitor/index.ts';
import type { ReportSource } from './source.ts';

/**
 * One session as `sessions show` and `GET /v1/sessions/:id` present it: its log's extent,
 * events by type, and every figure of the metrics projection.
 */
export interface SessionReport {
  readonly sessionId: string;
  /** Events in its log (its last sequence number). */
  readonly events: number;
  readonly firstEventAt: string | undefined;
  readonly lastEventAt: string | undefined;
  /** Events by type, in the order the types first appear. */
  readonly byType: Record<string, number>;
  readonly metrics: MetricsState;
}

/** The report of a session from its events (pure: the same events give the same report). */
export function projectSessionReport(sessionId: string, events: Iterable<AnyEvent>): SessionReport {
  const byType: Record<string, number> = {};
  let first: string | undefined;
  let last: string | undefined;
  let count = 0;
  const metrics = emptyMetrics(sessionId);
  for (const event of events) {
    byType[event.type] = (byType[event.type] ?? 0) + 1;
    first ??= event.ts;
    last = event.ts;
    count = Math.max(count, event.seq);
    applyMetricsEvent(metrics, event);
  }
  return { sessionId, events: count, firstEventAt: first, lastEventAt: last, byType, metrics };
}

/**
 * Reads a session's log and reports on it.
 * @throws OrchestratorError `SESSION_NOT_FOUND` for a session the store does not hold, and
 * the store's own errors (`STORE_CORRUPT` for a damaged row).
 */
export async function sessionReport(source: ReportSource, sessionId: string): Promise<SessionReport> {
  if ((await source.lastSeq(sessionId)) === 0) throw sessionNotFound(source, sessionId);
  const events: AnyEvent[] = [];
  for await (const event of source.readAll(sessionId)) events.push(event);
  return projectSessionReport(sessionId, events);
}

/** `SESSION_NOT_FOUND`, naming the session and the store. */
export function sessionNotFound(source: ReportSource, sessionId: string): OrchestratorError {
  return new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}" in ${source.storeName ?? 'the store'}`, {
    details: { sessionId },
  });
}

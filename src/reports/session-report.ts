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
  const report = emptySessionReport(sessionId);
  for (const event of events) applyReportEvent(report, event);
  return report;
}

/** A report as {@link applyReportEvent} builds it: the fields a new event changes are writable. */
export type SessionReportDraft = { -readonly [K in keyof SessionReport]: SessionReport[K] };

/** The report of a session with no events yet, to feed events to with {@link applyReportEvent}. */
export function emptySessionReport(sessionId: string): SessionReportDraft {
  return {
    sessionId,
    events: 0,
    firstEventAt: undefined,
    lastEventAt: undefined,
    byType: {},
    metrics: emptyMetrics(sessionId),
  };
}

/**
 * Applies one more event (in log order) to a report, in place: what a live reader (the HTTP
 * API's cache of sessions) uses to keep a report current without reading the log again.
 * {@link projectSessionReport} is this applied to every event.
 */
export function applyReportEvent(report: SessionReportDraft, event: AnyEvent): void {
  report.byType[event.type] = (report.byType[event.type] ?? 0) + 1;
  report.firstEventAt ??= event.ts;
  report.lastEventAt = event.ts;
  report.events = Math.max(report.events, event.seq);
  applyMetricsEvent(report.metrics, event);
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

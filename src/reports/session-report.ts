import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { applyMetricsEvent, emptyMetrics, type MetricsState, settleGoneOwner } from '../monitor/index.ts';
import { type SessionStatus, sessionStatus } from '../sessions/index.ts';
import type { Lease } from '../store/index.ts';
import { applyEvent, emptySessionState, type SessionState } from '../workflow/index.ts';
import { type CostReport, costReport } from './cost.ts';
import { type OriginReport, originReport } from './origin.ts';
import { ownerVerdict, type ReportSource } from './source.ts';

/**
 * A session's status as reported: its workflow's, except that an unfinished workflow no live
 * process runs (its owner died, or stopped without ending it) is `interrupted`.
 */
export type ReportedStatus = SessionStatus | 'interrupted';

/** The process that runs a session now. */
export interface SessionOwner {
  readonly host: string;
  readonly pid: number;
  /** When it took the session. */
  readonly since: string;
  /** When its lease lapses unless renewed. */
  readonly expiresAt: string;
}

/**
 * One session as `sessions show` and `GET /v1/sessions/:id` present it: its log's extent,
 * events by type, its status and owner, and every figure of the metrics projection, with the
 * agents of a dead owner ended, durations without the time nobody ran it, and its cost
 * explained beside Claude Code's estimate.
 */
export interface SessionReport {
  readonly sessionId: string;
  /** Events in its log (its last sequence number). */
  readonly events: number;
  readonly firstEventAt: string | undefined;
  readonly lastEventAt: string | undefined;
  /** Events by type, in the order the types first appear. */
  readonly byType: Record<string, number>;
  readonly status: ReportedStatus;
  /** Whether `sessions resume` can carry it on now: its workflow is unfinished and no live process runs it. */
  readonly resumable: boolean;
  /** The live process that runs it; absent when none does (or the source cannot tell). */
  readonly owner?: SessionOwner;
  /** Time its owners ran it: from its first event to its owners' last, less `downtimeMs`. */
  readonly activeMs: number;
  /** Time between an owner's end (a crash, a stop) and the next owner's start, over its history. */
  readonly downtimeMs: number;
  readonly cost: CostReport;
  /** The fork or import its history came from (the latest), and what of it was inherited. */
  readonly origin?: OriginReport;
  readonly metrics: MetricsState;
}

/** What the report knows of a session's lease: absent when the source cannot tell. */
export interface OwnerFacts {
  /** The session's lease (undefined: none, or released). */
  readonly lease: Lease | undefined;
  /** Whether the lease's owner is alive (unexpired, and its pid alive when on this host). */
  readonly alive: boolean;
}

/**
 * The part of a report that events build, kept current one event at a time by
 * {@link applyReportEvent}: what a live reader (the HTTP API's cache of sessions) holds so that
 * a new event costs one step, not a replay. {@link finishReport} makes the report of it.
 */
export interface ReportDraft {
  readonly sessionId: string;
  events: number;
  firstEventAt: string | undefined;
  lastEventAt: string | undefined;
  readonly byType: Record<string, number>;
  readonly metrics: MetricsState;
  /** The workflow reducer's state (its status, open questions, nodes). */
  readonly state: SessionState;
}

/** The draft of a session with no events yet. */
export function emptyReportDraft(sessionId: string): ReportDraft {
  return {
    sessionId,
    events: 0,
    firstEventAt: undefined,
    lastEventAt: undefined,
    byType: {},
    metrics: emptyMetrics(sessionId),
    state: emptySessionState(sessionId),
  };
}

/** Applies the next event of the log (in order) to a draft, in place. */
export function applyReportEvent(draft: ReportDraft, event: AnyEvent): void {
  draft.byType[event.type] = (draft.byType[event.type] ?? 0) + 1;
  draft.firstEventAt ??= event.ts;
  draft.lastEventAt = event.ts;
  draft.events = Math.max(draft.events, event.seq);
  applyMetricsEvent(draft.metrics, event);
  applyEvent(draft.state, event);
}

/**
 * The report of a draft, given what is known of its owner. The draft is left as it was, so it
 * can take more events: a gone owner's agents are settled on a copy of its metrics. Without
 * `owner`, a session whose workflow has not ended is taken to be running.
 */
export function finishReport(draft: ReportDraft, owner?: OwnerFacts): SessionReport {
  const workflowStatus = sessionStatus(draft.state);
  const unfinished = !['completed', 'failed', 'cancelled', 'empty'].includes(workflowStatus);
  const ownerAlive = owner?.alive ?? unfinished;
  let metrics = draft.metrics;
  // Nobody runs an unfinished session: its last owner is gone, and so are its agents.
  if (unfinished && !ownerAlive) {
    metrics = structuredClone(draft.metrics);
    settleGoneOwner(metrics);
  }
  const status: ReportedStatus =
    unfinished && !ownerAlive && workflowStatus !== 'paused' ? 'interrupted' : workflowStatus;
  const lease = owner?.lease;
  const first = draft.firstEventAt;
  const downtimeMs = metrics.downtime.reduce((sum, span) => sum + Date.parse(span.to) - Date.parse(span.from), 0);
  const ownedUntil = metrics.lastOwnedAt ?? draft.lastEventAt;
  const activeMs =
    first === undefined || ownedUntil === undefined
      ? 0
      : Math.max(0, Date.parse(ownedUntil) - Date.parse(first) - downtimeMs);
  const origin = originReport(metrics);
  return {
    sessionId: draft.sessionId,
    events: draft.events,
    firstEventAt: first,
    lastEventAt: draft.lastEventAt,
    byType: { ...draft.byType },
    status,
    resumable: unfinished && !ownerAlive,
    ...(lease &&
      owner?.alive && {
        owner: { host: lease.host, pid: lease.pid, since: lease.acquiredAt, expiresAt: lease.expiresAt },
      }),
    activeMs,
    downtimeMs,
    cost: costReport(metrics),
    ...(origin && { origin }),
    metrics,
  };
}

/**
 * The report of a session from its events (pure: the same events and owner facts give the same
 * report). Without `owner`, a session whose workflow has not ended is taken to be running.
 */
export function projectSessionReport(sessionId: string, events: Iterable<AnyEvent>, owner?: OwnerFacts): SessionReport {
  const draft = emptyReportDraft(sessionId);
  for (const event of events) applyReportEvent(draft, event);
  return finishReport(draft, owner);
}

/**
 * Reads a session's log (and its lease, when the source has leases) and reports on it.
 * @throws OrchestratorError `SESSION_NOT_FOUND` for a session the store does not hold, and
 * the store's own errors (`STORE_CORRUPT` for a damaged row).
 */
export async function sessionReport(source: ReportSource, sessionId: string): Promise<SessionReport> {
  if ((await source.lastSeq(sessionId)) === 0) throw sessionNotFound(source, sessionId);
  const owner = await ownerVerdict(source, sessionId);
  const events: AnyEvent[] = [];
  for await (const event of source.readAll(sessionId)) events.push(event);
  return projectSessionReport(sessionId, events, owner);
}

/** `SESSION_NOT_FOUND`, naming the session and the store. */
export function sessionNotFound(source: ReportSource, sessionId: string): OrchestratorError {
  return new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}" in ${source.storeName ?? 'the store'}`, {
    details: { sessionId },
  });
}

import { OrchestratorError } from '../errors/index.ts';
import type { AnyEvent } from '../events/index.ts';
import { applyMetricsEvent, emptyMetrics, type MetricsState, settleGoneOwner } from '../monitor/index.ts';
import { type SessionStatus, sessionStatus } from '../sessions/index.ts';
import type { Lease } from '../store/index.ts';
import { applyEvent, emptySessionState } from '../workflow/index.ts';
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
 * The report of a session from its events (pure: the same events and owner facts give the same
 * report). Without `owner`, a session whose workflow has not ended is taken to be running.
 */
export function projectSessionReport(sessionId: string, events: Iterable<AnyEvent>, owner?: OwnerFacts): SessionReport {
  const byType: Record<string, number> = {};
  let first: string | undefined;
  let last: string | undefined;
  let count = 0;
  const metrics = emptyMetrics(sessionId);
  const state = emptySessionState(sessionId);
  for (const event of events) {
    byType[event.type] = (byType[event.type] ?? 0) + 1;
    first ??= event.ts;
    last = event.ts;
    count = Math.max(count, event.seq);
    applyMetricsEvent(metrics, event);
    applyEvent(state, event);
  }
  const workflowStatus = sessionStatus(state);
  const unfinished = !['completed', 'failed', 'cancelled', 'empty'].includes(workflowStatus);
  const ownerAlive = owner?.alive ?? unfinished;
  // Nobody runs an unfinished session: its last owner is gone, and so are its agents.
  if (unfinished && !ownerAlive) settleGoneOwner(metrics);
  const status: ReportedStatus =
    unfinished && !ownerAlive && workflowStatus !== 'paused' ? 'interrupted' : workflowStatus;
  const lease = owner?.lease;
  const downtimeMs = metrics.downtime.reduce((sum, span) => sum + Date.parse(span.to) - Date.parse(span.from), 0);
  const ownedUntil = metrics.lastOwnedAt ?? last;
  const activeMs =
    first === undefined || ownedUntil === undefined
      ? 0
      : Math.max(0, Date.parse(ownedUntil) - Date.parse(first) - downtimeMs);
  const origin = originReport(metrics);
  return {
    sessionId,
    events: count,
    firstEventAt: first,
    lastEventAt: last,
    byType,
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

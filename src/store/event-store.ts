import type { OrchestratorEvent, PendingEvent } from '../events/index.ts';

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /**
   * Optimistic concurrency: the append commits only if the session's last sequence number is
   * still this value (0 for a new session); otherwise it fails with `SEQUENCE_CONFLICT` and
   * writes nothing.
   */
  expectedLastSeq?: number;
  /**
   * Fencing: the append commits only if this is the session's current lease token (held,
   * expired-but-not-taken-over is fine; released is not); otherwise it fails with `LEASE_LOST`
   * and writes nothing. Appends without it are not checked (requests from outside the owner).
   * See `LeaseStore`.
   */
  fencingToken?: number;
}

/** Options of {@link EventStore.read}. */
export interface ReadOptions {
  /** First sequence number to return (inclusive). @default 1 */
  fromSeq?: number;
  /** Last sequence number to return (inclusive). @default no bound */
  toSeq?: number;
  /** At most this many events. @default 1000 */
  limit?: number;
}

/** One row of {@link EventStore.listSessions}. */
export interface SessionSummary {
  readonly sessionId: string;
  readonly lastSeq: number;
  /** ISO time of the first append. */
  readonly createdAt: string;
  /** ISO time of the latest append. */
  readonly updatedAt: string;
}

/** Options of {@link EventStore.listSessions}. */
export interface ListSessionsOptions {
  /** At most this many sessions, newest first. @default 100 */
  limit?: number;
  /** Only sessions created before this session (keyset paging by creation order). */
  before?: string;
}

/**
 * The durable, ordered, per-session event log: the orchestrator's only source of truth.
 *
 * Guarantees: an append is atomic (all of its events or none) and assigns contiguous
 * sequence numbers after the session's last one, even with several writers (processes or
 * connections) on one session; a resolved append is durable and visible to every later read;
 * every read verifies each row's checksum and fails with `STORE_CORRUPT` rather than return a
 * damaged event. Appends issued in the same tick share one transaction (group commit). When a
 * connection is lost with a commit's outcome unknown, each of its appends is first looked up by
 * event id, so one that did commit resolves with its stored events instead of being written
 * twice or failing as a duplicate of itself.
 *
 * Retention is the one deletion, and it takes whole sessions only ({@link deleteSession}):
 * events are never rewritten, and never deleted one by one or up to a point, so a session that
 * exists is always its complete log. Which sessions to delete is decided in the sessions layer.
 *
 * Deliberately left out: rewriting events, queries by event content, and notification of other
 * processes' appends (poll `lastSeq`).
 */
export interface EventStore {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /**
   * Appends events to a session's log, creating the session on its first append.
   * @returns the committed events, with their sequence numbers, in order.
   * @throws OrchestratorError `SEQUENCE_CONFLICT`, `LEASE_LOST`, `EVENT_DUPLICATE`, `STORE_CLOSED`,
   * `STORE_UNAVAILABLE` (the outcome may be unknown only if even the one recheck after a lost
   * connection failed).
   */
  append(sessionId: string, events: readonly PendingEvent[], options?: AppendOptions): Promise<OrchestratorEvent[]>;
  /**
   * Reads one page of a session's events in sequence order; an unknown session reads empty.
   * @throws OrchestratorError `STORE_CORRUPT` naming the session and sequence of a damaged row.
   */
  read(sessionId: string, options?: ReadOptions): Promise<OrchestratorEvent[]>;
  /** The session's last sequence number, 0 when it has no events. */
  lastSeq(sessionId: string): Promise<number>;
  /** Sessions, newest first. */
  listSessions(options?: ListSessionsOptions): Promise<SessionSummary[]>;
  /**
   * Deletes a whole session: its events and its row, in one transaction (all or nothing).
   * Appends this store accepted before the call are written first; afterwards the session reads
   * empty, `lastSeq` is 0, `listSessions` no longer lists it, and a new append to the same id
   * starts a new log at sequence 1. Other sessions are untouched, also while being appended to.
   * Versions and transcripts are not the event log's: delete them through their own stores.
   * @returns how many events were deleted (0 for an unknown session).
   * @throws OrchestratorError `INVALID_ARGUMENT`, `STORE_CLOSED`, `STORE_UNAVAILABLE`.
   */
  deleteSession(sessionId: string): Promise<number>;
  /** Flushes pending appends and releases connections. Idempotent. */
  close(): Promise<void>;
}

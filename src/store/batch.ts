import { OrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent, PendingEvent } from '../events/index.ts';
import { checkAppendOptions, checkSessionId } from './arguments.ts';
import { committedEvent, encodePayload, type RawRow, rowChecksum, takePayloadTexts } from './codec.ts';
import type { AppendOptions } from './event-store.ts';
import { leaseLost } from './lease-rows.ts';

/** One queued `append` call, checked and serialized. */
export interface AppendRequest {
  readonly sessionId: string;
  /** The events as given; their envelopes have been checked. */
  readonly events: readonly PendingEvent[];
  /** Each event's payload as the exact JSON text to store, index-aligned with `events`. */
  readonly payloads: readonly string[];
  readonly expectedLastSeq: number | undefined;
  /** The lease token the session must still have (`AppendOptions.fencingToken`). */
  readonly fencingToken: number | undefined;
}

/**
 * Checks the arguments of an `append` and serializes its payloads, so that a bad call fails
 * alone, before it joins a batch.
 * @throws OrchestratorError `INVALID_ARGUMENT` or `EVENT_INVALID`.
 */
export function toAppendRequest(
  sessionId: string,
  events: readonly PendingEvent[],
  options: AppendOptions | undefined,
): AppendRequest {
  checkSessionId(sessionId);
  const { expectedLastSeq, fencingToken } = checkAppendOptions(options);
  if (!Array.isArray(events)) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'events must be an array of pending events', {
      details: { field: 'events', received: typeof events },
    });
  }
  const texts = takePayloadTexts(events);
  const payloads: string[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) payloads[i] = encodePayload(events[i] as PendingEvent, i, texts?.[i]);
  return { sessionId, events, payloads, expectedLastSeq, fencingToken };
}

/** What one append of a batch came to: its committed events, or the error that refused it alone. */
export type AppendOutcome = OrchestratorEvent[] | OrchestratorError;

/**
 * What a backend gives the group commit: write a batch of appends in ONE transaction, and look
 * events up by id when a batch's outcome is unknown.
 */
export interface BatchWriter {
  /**
   * Writes the batch in one transaction. A request whose `expectedLastSeq` or `fencingToken`
   * does not hold gets an error outcome and writes nothing, while the others commit; any other
   * failure throws and leaves nothing written, unless the connection was lost after COMMIT was
   * sent (`STORE_UNAVAILABLE`), when the batch may or may not have committed.
   */
  writeBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]>;
  /**
   * The stored rows (in `EVENT_COLUMNS` order) of the events with these ids, in any session and
   * any order; ids not stored have no row. Used only after a failure, never on the common path.
   */
  readEvents(ids: readonly string[]): Promise<RawRow[]>;
}

/** Receives each row to insert, in order, with its assigned sequence number and checksum. */
export type RowSink = (sessionId: string, seq: number, event: PendingEvent, data: string, checksum: number) => void;

/** The decisions of a batch, computed before anything is written. */
export interface BatchPlan {
  /** One outcome per request, in request order. */
  readonly outcomes: AppendOutcome[];
  /** The new last sequence number of every session that receives events. */
  readonly lastSeqs: Map<string, number>;
}

/**
 * Assigns sequence numbers to a batch: requests apply in queue order on top of the sessions'
 * current last sequence numbers (as locked by the caller's transaction), so an expectation is
 * checked against the earlier appends of the same batch too. A request with a fencing token
 * that is not its session's current one is refused with `LEASE_LOST` (before its expectation
 * is looked at: a process that lost its session must not be told to retry). Pure apart from
 * `sink`.
 * @param current last sequence number of each session of the batch (absent means 0).
 * @param leases the current lease token of each session a request fences on, as read in the
 * caller's transaction; absent means no lease or a released one, which no token matches.
 */
export function planBatch(
  requests: readonly AppendRequest[],
  current: ReadonlyMap<string, number>,
  sink: RowSink,
  leases: ReadonlyMap<string, number> = NO_LEASES,
): BatchPlan {
  const lastSeqs = new Map<string, number>();
  const outcomes: AppendOutcome[] = [];
  for (const request of requests) {
    const { sessionId, events, payloads, expectedLastSeq, fencingToken } = request;
    if (fencingToken !== undefined && leases.get(sessionId) !== fencingToken) {
      outcomes.push(leaseLost(sessionId, fencingToken, leases.get(sessionId), 'append'));
      continue;
    }
    const last = lastSeqs.get(sessionId) ?? current.get(sessionId) ?? 0;
    if (expectedLastSeq !== undefined && expectedLastSeq !== last) {
      outcomes.push(
        new OrchestratorError(
          'SEQUENCE_CONFLICT',
          `append to session "${sessionId}" expected last seq ${expectedLastSeq} but it is ${last}`,
          { details: { sessionId, expected: expectedLastSeq, actual: last } },
        ),
      );
      continue;
    }
    const committed: OrchestratorEvent[] = new Array(events.length);
    let seq = last;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as PendingEvent;
      const data = payloads[i] as string;
      seq++;
      const checksum = rowChecksum(
        sessionId,
        seq,
        event.id,
        event.type,
        event.ts,
        event.source,
        event.correlationId ?? null,
        event.causationId ?? null,
        data,
      );
      sink(sessionId, seq, event, data, checksum);
      committed[i] = committedEvent(sessionId, seq, event);
    }
    if (seq !== last) lastSeqs.set(sessionId, seq);
    outcomes.push(committed);
  }
  return { outcomes, lastSeqs };
}

const NO_LEASES: ReadonlyMap<string, number> = new Map();

/** The distinct sessions of a batch, sorted so that every writer locks them in the same order. */
export function sessionsOf(requests: readonly AppendRequest[]): string[] {
  const ids = new Set<string>();
  for (const request of requests) ids.add(request.sessionId);
  return [...ids].sort();
}

/**
 * The distinct sessions whose lease a batch must check, sorted; empty (and no lease read at
 * all) when no request carries a fencing token, which keeps unfenced appends as fast as before.
 */
export function fencedSessionsOf(requests: readonly AppendRequest[]): string[] {
  let ids: Set<string> | undefined;
  for (const request of requests) {
    if (request.fencingToken === undefined) continue;
    ids ??= new Set();
    ids.add(request.sessionId);
  }
  return ids === undefined ? [] : [...ids].sort();
}

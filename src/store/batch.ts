import { OrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent, PendingEvent } from '../events/index.ts';
import { checkAppendOptions, checkSessionId } from './arguments.ts';
import { committedEvent, encodePayload, rowChecksum } from './codec.ts';
import type { AppendOptions } from './event-store.ts';

/** One queued `append` call, checked and serialized. */
export interface AppendRequest {
  readonly sessionId: string;
  /** The events as given; their envelopes have been checked. */
  readonly events: readonly PendingEvent[];
  /** Each event's payload as the exact JSON text to store, index-aligned with `events`. */
  readonly payloads: readonly string[];
  readonly expectedLastSeq: number | undefined;
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
  const expectedLastSeq = checkAppendOptions(options);
  if (!Array.isArray(events)) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'events must be an array of pending events', {
      details: { field: 'events', received: typeof events },
    });
  }
  return { sessionId, events, payloads: events.map(encodePayload), expectedLastSeq };
}

/** What one append of a batch came to: its committed events, or the error that refused it alone. */
export type AppendOutcome = OrchestratorEvent[] | OrchestratorError;

/**
 * The one thing a backend gives the group commit: write a batch of appends in ONE transaction.
 * A request whose `expectedLastSeq` does not hold gets an error outcome and writes nothing,
 * while the others commit; any other failure throws and leaves nothing written.
 */
export interface BatchWriter {
  writeBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]>;
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
 * checked against the earlier appends of the same batch too. Pure apart from `sink`.
 * @param current last sequence number of each session of the batch (absent means 0).
 */
export function planBatch(
  requests: readonly AppendRequest[],
  current: ReadonlyMap<string, number>,
  sink: RowSink,
): BatchPlan {
  const lastSeqs = new Map<string, number>();
  const outcomes: AppendOutcome[] = [];
  for (const request of requests) {
    const { sessionId, events, payloads, expectedLastSeq } = request;
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

/** The distinct sessions of a batch, sorted so that every writer locks them in the same order. */
export function sessionsOf(requests: readonly AppendRequest[]): string[] {
  const ids = new Set<string>();
  for (const request of requests) ids.add(request.sessionId);
  return [...ids].sort();
}

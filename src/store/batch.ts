import { OrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent } from '../events/index.ts';
import { committedEvent, type EncodedEvent, rowChecksum } from './codec.ts';

/** One queued `append` call, its events already encoded. */
export interface AppendRequest {
  readonly sessionId: string;
  readonly events: readonly EncodedEvent[];
  readonly expectedLastSeq: number | undefined;
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
export type RowSink = (sessionId: string, seq: number, event: EncodedEvent, checksum: number) => void;

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
    const { sessionId, events, expectedLastSeq } = request;
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
      const event = events[i] as EncodedEvent;
      seq++;
      const checksum = rowChecksum(
        sessionId,
        seq,
        event.id,
        event.type,
        event.ts,
        event.source,
        event.correlationId,
        event.causationId,
        event.data,
      );
      sink(sessionId, seq, event, checksum);
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

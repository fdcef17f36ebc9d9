import { OrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent, PendingEvent } from '../events/index.ts';
import type { AppendRequest } from './batch.ts';
import { committedEvent, type RawRow, rowChecksum } from './codec.ts';

/** What looking an append's events up by id found. */
export type Recheck =
  /** None of its events is stored: it did not commit; write it. */
  | { readonly kind: 'absent' }
  /** All of them are stored exactly as this append would have written them: it committed. */
  | { readonly kind: 'committed'; readonly events: OrchestratorEvent[] }
  /** Some are stored, but not as this append's commit would have left them: fail with this. */
  | { readonly kind: 'conflict'; readonly error: OrchestratorError };

/**
 * Decides whether an append whose commit's outcome is unknown (the connection was lost after
 * COMMIT was sent) did commit, from the stored rows of its event ids. It did when every event is
 * stored in its session, with its exact envelope and payload text, at contiguous sequence
 * numbers in its order (after `expectedLastSeq` when it had one): event ids are unique, and an
 * append is atomic, so nothing else leaves that picture. An id stored as a different event is
 * a real duplicate (`EVENT_DUPLICATE`); matching events stored only in part, or out of order,
 * cannot come from one atomic append (`STORE_CORRUPT`: the log or the caller's ids are not what
 * they should be). Pure.
 * @param rows the stored rows of the request's event ids (any order; ids not stored have none).
 */
export function recheckAppend(request: AppendRequest, rows: readonly RawRow[]): Recheck {
  const { sessionId, events, payloads, expectedLastSeq } = request;
  const byId = new Map<unknown, RawRow>();
  for (const row of rows) byId.set(row[2], row);
  let found = 0;
  for (const event of events) if (byId.has(event.id)) found++;
  if (found === 0) return { kind: 'absent' };
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as PendingEvent;
    const row = byId.get(event.id);
    if (row !== undefined && !sameEvent(row, sessionId, event, payloads[i] as string)) {
      return { kind: 'conflict', error: duplicate(sessionId, event.id, row) };
    }
  }
  const firstSeq = byId.get(events[0]?.id)?.[1];
  const contiguous =
    found === events.length &&
    typeof firstSeq === 'number' &&
    (expectedLastSeq === undefined || firstSeq === expectedLastSeq + 1) &&
    events.every((event, i) => byId.get(event.id)?.[1] === firstSeq + i);
  if (!contiguous || typeof firstSeq !== 'number')
    return { kind: 'conflict', error: partlyStored(sessionId, found, events.length) };
  return { kind: 'committed', events: events.map((event, i) => committedEvent(sessionId, firstSeq + i, event)) };
}

/** Whether a stored row is this event, stored in this session, with this exact payload text and a checksum to match. */
function sameEvent(row: RawRow, sessionId: string, event: PendingEvent, data: string): boolean {
  const [session, seq, id, type, ts, source, correlationId, causationId, text, checksum] = row;
  const corr = event.correlationId ?? null;
  const caus = event.causationId ?? null;
  return (
    session === sessionId &&
    typeof seq === 'number' &&
    id === event.id &&
    type === event.type &&
    ts === event.ts &&
    source === event.source &&
    correlationId === corr &&
    causationId === caus &&
    text === data &&
    checksum === rowChecksum(sessionId, seq, event.id, event.type, event.ts, event.source, corr, caus, data)
  );
}

function duplicate(sessionId: string, id: string, row: RawRow): OrchestratorError {
  return new OrchestratorError(
    'EVENT_DUPLICATE',
    `append to session "${sessionId}": event id "${id}" is already stored as another event (session "${String(row[0])}", seq ${String(row[1])})`,
    { details: { sessionId, eventId: id, storedSessionId: row[0] ?? null, storedSeq: row[1] ?? null } },
  );
}

function partlyStored(sessionId: string, found: number, total: number): OrchestratorError {
  return new OrchestratorError(
    'STORE_CORRUPT',
    `append to session "${sessionId}" lost its connection while committing, and ${found} of its ${total} events are ` +
      'stored but not as one append: appends are atomic, so the log or the reuse of event ids is at fault',
    { details: { sessionId, found, total } },
  );
}

import { OrchestratorError } from '../errors/index.ts';
import type { EventType, OrchestratorEvent, PendingEvent } from '../events/index.ts';

/**
 * How events become rows and rows become events, shared by every backend. A row carries a
 * CRC-32 of all of its columns (data as its exact stored JSON text), so a read can tell a
 * damaged row from a good one and refuse to hand it out.
 */

/**
 * A row as a backend reads it, as an array in {@link EVENT_COLUMNS} order (both drivers build
 * arrays faster than objects); values are `unknown` because a damaged row may hold anything.
 */
export type RawRow = readonly unknown[];

/** The column list every backend selects and inserts, in this order. */
export const EVENT_COLUMNS = 'session_id, seq, id, type, ts, source, correlation_id, causation_id, data, checksum';

/** node:zlib's crc32, taken at the first append, not at the library's import (about 2 MB resident). */
let crc32: ((data: string, value?: number) => number) | undefined;

/**
 * CRC-32 of a row's canonical form. Every field is length-prefixed (null spelled `~`) so no
 * two different rows share a canonical text; the `v1` prefix leaves room for another layout.
 */
export function rowChecksum(
  sessionId: string,
  seq: number,
  id: string,
  type: string,
  ts: string,
  source: string,
  correlationId: string | null,
  causationId: string | null,
  data: string,
): number {
  crc32 ??= process.getBuiltinModule('node:zlib').crc32;
  const head =
    `v1|${sessionId.length}:${sessionId}|${seq}|${id.length}:${id}|${type.length}:${type}|${ts.length}:${ts}` +
    `|${source.length}:${source}|${nullable(correlationId)}|${nullable(causationId)}|${data.length}:`;
  // One crc32 call over one string is faster than chaining calls over its pieces, for the
  // payloads of most events; a long payload is chained on instead of copied into the joined
  // text (a 650 KB workflow definition: 0.15 against 2.4 ms). Either way the CRC is of the
  // UTF-8 of `head` then `data`, the same value.
  return data.length < CHAIN_FROM_CHARS ? crc32(head + data) : crc32(data, crc32(head));
}

/** A payload this long or longer is checksummed by chaining onto its row's head (see {@link rowChecksum}). */
const CHAIN_FROM_CHARS = 8192;

function nullable(value: string | null): string {
  return value === null ? '~' : `${value.length}:${value}`;
}

// The payload texts the maker of a batch of pending events already serialized (the log, for
// its size limit), handed over with the batch so each payload is serialized once on its way to
// the store. One slot, keyed by the batch array itself: the log hands it over right before
// `append`, which takes it synchronously; any other array (a copy, another call) is serialized
// afresh. A slot rather than a mark on each event: a WeakMap entry per event cost about as much
// as the serialization it saved, and nothing given from outside can carry a text that differs
// from its data.
let handedEvents: readonly PendingEvent[] | undefined;
let handedTexts: readonly (string | undefined)[] | undefined;

/**
 * Hands over `texts[i]`, which must be `JSON.stringify(events[i].data)` (or undefined: not
 * known), as the payload text to store for each event of `events`, for the next `append` of
 * that very array.
 */
export function handPayloadTexts(events: readonly PendingEvent[], texts: readonly (string | undefined)[]): void {
  handedEvents = events;
  handedTexts = texts;
}

/** The texts handed over with `events` (see {@link handPayloadTexts}), once; undefined for any other array. */
export function takePayloadTexts(events: readonly PendingEvent[]): readonly (string | undefined)[] | undefined {
  if (events !== handedEvents) return undefined;
  const texts = handedTexts;
  handedEvents = undefined;
  handedTexts = undefined;
  return texts;
}

/**
 * Checks a pending event's envelope and serializes its payload, once, before the event waits in
 * the group-commit queue (or takes `known`, its text handed over by {@link handPayloadTexts});
 * the text returned is what is stored and checksummed.
 * @throws OrchestratorError `EVENT_INVALID` when a field has the wrong type or the payload is
 * not JSON-serializable.
 */
export function encodePayload(event: PendingEvent, index: number, known?: string): string {
  const bad = (field: string, why: string): OrchestratorError =>
    new OrchestratorError('EVENT_INVALID', `event #${index} to append: ${field} ${why}`, {
      details: { index, field },
    });
  if (event === null || typeof event !== 'object') throw bad('(root)', 'must be an object');
  if (typeof event.id !== 'string' || event.id === '') throw bad('id', 'must be a non-empty string');
  if (typeof event.type !== 'string' || (event.type as string) === '') throw bad('type', 'must be a non-empty string');
  if (typeof event.ts !== 'string' || event.ts === '') throw bad('ts', 'must be a non-empty string');
  if (typeof event.source !== 'string') throw bad('source', 'must be a string');
  const { correlationId, causationId } = event;
  if (correlationId != null && typeof correlationId !== 'string')
    throw bad('correlationId', 'must be a string or null');
  if (causationId != null && typeof causationId !== 'string') throw bad('causationId', 'must be a string or null');
  if (known !== undefined) return known;
  let data: string | undefined;
  try {
    data = JSON.stringify(event.data);
  } catch (cause) {
    throw new OrchestratorError('EVENT_INVALID', `event #${index} to append: data is not JSON-serializable`, {
      cause,
      details: { index, field: 'data' },
    });
  }
  if (data === undefined) throw bad('data', 'is not JSON-serializable (undefined or a function)');
  return data;
}

/**
 * The committed event for a pending one. It carries the payload object it was given rather
 * than a parse of the stored text: parsing every payload again cost about a tenth of the append
 * throughput, and for JSON data (what `prepareEvent` produces) the two are equal.
 */
export function committedEvent(sessionId: string, seq: number, event: PendingEvent): OrchestratorEvent {
  return {
    id: event.id,
    type: event.type,
    sessionId,
    seq,
    ts: event.ts,
    source: event.source,
    correlationId: event.correlationId ?? null,
    causationId: event.causationId ?? null,
    data: event.data,
  } as OrchestratorEvent;
}

/**
 * Turns a stored row back into an event after checking its columns and checksum.
 * @param sessionId the session that was queried, reported when the row's own column is bad.
 * @throws OrchestratorError `STORE_CORRUPT` with `details: { sessionId, seq }` for a missing or
 * mistyped column, a checksum mismatch, or payload text that is not JSON.
 */
export function decodeRow(row: RawRow, sessionId: string): OrchestratorEvent {
  const seq = typeof row[1] === 'number' ? row[1] : Number.NaN;
  const corrupt = (why: string, cause?: unknown): OrchestratorError =>
    new OrchestratorError('STORE_CORRUPT', `event ${Number.isNaN(seq) ? '?' : seq} of session "${sessionId}" ${why}`, {
      cause,
      details: { sessionId, seq: Number.isNaN(seq) ? null : seq },
    });
  if (!Number.isSafeInteger(seq) || seq < 1) throw corrupt('has no valid seq column');
  const [session_id, , id, type, ts, source, correlation_id, causation_id, data, checksum] = row;
  if (session_id !== sessionId) throw corrupt('has a wrong session_id column');
  if (typeof id !== 'string') throw corrupt('has no id column');
  if (typeof type !== 'string') throw corrupt('has no type column');
  if (typeof ts !== 'string') throw corrupt('has no ts column');
  if (typeof source !== 'string') throw corrupt('has no source column');
  if (correlation_id !== null && typeof correlation_id !== 'string') throw corrupt('has a bad correlation_id column');
  if (causation_id !== null && typeof causation_id !== 'string') throw corrupt('has a bad causation_id column');
  if (typeof data !== 'string') throw corrupt('has no data column');
  if (typeof checksum !== 'number') throw corrupt('has no checksum column');
  const actual = rowChecksum(sessionId, seq, id, type, ts, source, correlation_id, causation_id, data);
  if (actual !== checksum) throw corrupt(`failed its checksum (stored ${checksum}, computed ${actual})`);
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch (cause) {
    throw corrupt('has data that is not valid JSON', cause);
  }
  return {
    id,
    type: type as EventType,
    sessionId,
    seq,
    ts,
    source,
    correlationId: correlation_id,
    causationId: causation_id,
    data: payload,
  } as OrchestratorEvent;
}

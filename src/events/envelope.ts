import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';
import { dataSchemaOf, type EventDataMap, type EventType, isEventType } from './catalog.ts';
import { newId } from './ids.ts';

/**
 * A committed event: what the log stores and every consumer receives. `seq` is the event's
 * position in its session's log (1, 2, 3, ... with no gaps); `id` is globally unique.
 */
export interface OrchestratorEvent<T extends EventType = EventType> {
  /** Globally unique, time-sortable id (UUIDv7). */
  readonly id: string;
  readonly type: T;
  readonly sessionId: string;
  /** Position in the session's log, from 1, contiguous. */
  readonly seq: number;
  /** ISO-8601 time the event was created. */
  readonly ts: string;
  /** What produced the event, e.g. `engine`, `agent:agt_...`, `cli`. */
  readonly source: string;
  /** Groups the events of one logical operation (a run, a request). */
  readonly correlationId: string | null;
  /** The id of the event that caused this one. */
  readonly causationId: string | null;
  readonly data: EventDataMap[T];
}

/** Any committed event, narrowed by `type` in a switch. */
export type AnyEvent = { [K in EventType]: OrchestratorEvent<K> }[EventType];

/** An event to append: the log assigns `seq`, and `id`/`ts` when they are not given. */
export interface NewEvent<T extends EventType = EventType> {
  readonly type: T;
  readonly data: EventDataMap[T];
  readonly source?: string;
  readonly correlationId?: string | null;
  readonly causationId?: string | null;
  readonly id?: string;
  readonly ts?: string;
}

/** An event ready for the store: validated, with id and time fixed, waiting for its `seq`. */
export interface PendingEvent {
  readonly id: string;
  readonly type: EventType;
  readonly ts: string;
  readonly source: string;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  readonly data: unknown;
}

const envelopeFields = z.object({
  source: z.string().min(1).max(200).optional(),
  correlationId: z.string().max(200).nullable().optional(),
  causationId: z.string().max(200).nullable().optional(),
  id: z.string().min(1).max(200).optional(),
  ts: z.iso.datetime().optional(),
});

/**
 * The mark of events built by the project's own typed code (see {@link typedEvent}): a symbol
 * this module never exports. Nothing read from outside can carry it (JSON, structured clones
 * and the store's rows have no symbol keys); a spread of a marked event by in-process code
 * keeps it, as that code is as trusted as the one that built it. A property rather than a
 * WeakSet: adding and reading it cost a fraction of a WeakSet's add and lookup on every event.
 */
const TYPED: unique symbol = Symbol('typed event');
type Marked = { [TYPED]?: true };

/**
 * Marks an event as built by the project's own typed code (the engine's recorder, the
 * orchestrator, the monitor): its payload was checked by the type checker where it was built,
 * so {@link prepareEvent} does not parse it again with the catalog's schema (a zod parse cost
 * more than the rest of an engine event's path). Input from outside must never be passed
 * here: it goes through the schema as a plain object. Returns the same object.
 */
export function typedEvent<T extends EventType>(event: NewEvent<T>): NewEvent<T> {
  (event as Marked)[TYPED] = true;
  return event;
}

/** The fields of an event the engine records (see {@link typedRecord}). */
export interface RecordFields {
  readonly id: string;
  readonly type: EventType;
  readonly sessionId: string;
  readonly ts: string;
  readonly source: string;
  readonly correlationId: string;
  readonly data: unknown;
}

/**
 * An event the engine records, made whole, with seq 0 (not known yet) and no cause: one object
 * that the engine's state takes as committed and the log as new (see the workflow's recorder).
 * With `typed`, it carries the mark of {@link typedEvent}, given in the literal itself: setting
 * the mark on an object already made gave each event a property array of its own (40 bytes).
 * Having every envelope field already, it is also the pending event {@link prepareEvent}
 * returns, not copied.
 */
export function typedRecord(fields: RecordFields, typed: boolean): NewEvent {
  const { id, type, sessionId, ts, source, correlationId, data } = fields;
  if (!typed) return { id, type, sessionId, seq: 0, ts, source, correlationId, causationId: null, data } as NewEvent;
  return { id, type, sessionId, seq: 0, ts, source, correlationId, causationId: null, data, [TYPED]: true } as NewEvent;
}

/** True for an event marked by {@link typedEvent} (or an in-process spread of one). */
export function isTypedEvent(event: NewEvent): boolean {
  return (event as Marked)[TYPED] === true;
}

/**
 * Validates a new event against its type's schema and fixes its id, time and source. An event
 * marked by {@link typedEvent} is only stamped: its type is still checked, its payload not
 * parsed again.
 * @throws OrchestratorError `EVENT_INVALID` naming the type and the offending fields.
 */
export function prepareEvent(event: NewEvent, defaultSource = 'orchestrator'): PendingEvent {
  if ((event as Marked)[TYPED] === true && isEventType(event.type)) return stamp(event, event.data, defaultSource);
  if (!isEventType(event.type)) {
    throw new OrchestratorError('EVENT_INVALID', `unknown event type "${String(event.type)}"`, {
      details: { type: event.type },
    });
  }
  const envelope = envelopeFields.safeParse(event);
  const data = dataSchemaOf(event.type).safeParse(event.data);
  if (!envelope.success || !data.success) {
    const issues = [...(envelope.error?.issues ?? []), ...(data.error?.issues.map(prefixData) ?? [])];
    const text = issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new OrchestratorError('EVENT_INVALID', `invalid "${event.type}" event: ${text}`, {
      details: { type: event.type, issues: issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return stamp(event, data.data, defaultSource);
}

// The ISO text of the current millisecond, reused by the events stamped within it: formatting a
// Date cost more than the rest of the stamp, and a burst of events shares a millisecond.
let isoMs = -1;
let iso = '';

/** Now as ISO-8601 text (the same text `new Date().toISOString()` gives). */
function nowIso(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

function stamp(event: NewEvent, data: unknown, defaultSource: string): PendingEvent {
  // A typed event with its whole envelope (the engine's records) is already what the store
  // takes: a copy per event was an object the event's wait for its commit kept alive.
  if (
    data === event.data &&
    (event as Marked)[TYPED] === true &&
    typeof event.id === 'string' &&
    typeof event.ts === 'string' &&
    typeof event.source === 'string' &&
    event.correlationId !== undefined &&
    event.causationId !== undefined
  )
    return event as PendingEvent;
  return {
    id: event.id ?? newId(),
    type: event.type,
    ts: event.ts ?? nowIso(),
    source: event.source ?? defaultSource,
    correlationId: event.correlationId ?? null,
    causationId: event.causationId ?? null,
    data,
  };
}

function prefixData(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  return { ...issue, path: ['data', ...issue.path] };
}

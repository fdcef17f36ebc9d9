import { toOrchestratorError } from '../errors/index.ts';
import {
  type AnyEvent,
  type EventDataMap,
  type EventType,
  type NewEvent,
  newId,
  typedRecord,
} from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { applyEvent, type SessionState } from './state.ts';

/** What a {@link RunRecorder} needs. */
export interface RunRecorderOptions {
  readonly log: EventLog;
  readonly sessionId: string;
  readonly workflowId: string;
  /** The projected state the engine decides on; every recorded event is applied to it at once. */
  readonly state: SessionState;
  /** Called once, with the first append the log refused. */
  readonly onFailure: (error: unknown) => void;
}

/**
 * Event types whose whole payload the engine makes itself (ids, attempts, reasons it words,
 * errors it normalized, outputs of executors it awaited): the type checker is their
 * validation, and the log does not parse them again (see `typedEvent`). A payload that carries
 * what someone outside sent (an answer, a graph change, a rule, a control request's reason)
 * is parsed at the log like any input.
 */
const ENGINE_MADE: ReadonlySet<EventType> = new Set<EventType>([
  'node.queued',
  'node.started',
  'node.completed',
  'node.failed',
  'node.skipped',
  'node.cancelled',
  'node.interrupted',
  'node.compensating',
  'node.compensated',
  'workflow.completed',
  'workflow.rolling_back',
]);

/**
 * The engine's write path. An event is applied to the projected state at once (the engine's
 * next decision must see it) and appended to the log with the other events the engine records
 * in the same turn of the event loop: one `append` for all of them instead of one each. A
 * 1,000-node run records 2,000 events, nearly all within a few turns; each separate append
 * cost a store request, a group-commit queue entry, promises and a bus delivery of its own.
 *
 * Order is kept: events reach the log in the order they were recorded, and every batch is
 * handed to the log before the next starts filling. Durability is unchanged: the promise of a
 * record settles when its batch is committed, and executors with effects outside the log
 * (`external`) still wait for it before they start. An event keeps the id and time it was
 * applied with, so a replay of the log gives the same state as the one the engine ran on.
 */
export class RunRecorder {
  readonly #o: RunRecorderOptions;
  #pending: NewEvent[] = [];
  #batch: PromiseWithResolvers<void> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: unknown;

  constructor(options: RunRecorderOptions) {
    this.#o = options;
  }

  /**
   * Records a workflow event (its `workflowId` is added). Returns the promise that settles once
   * the event is durable; it rejects when the log refused it (the run is failed through
   * `onFailure` as well, so callers that do not wait need not handle it).
   */
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void> {
    const { sessionId, workflowId } = this.#o;
    // One object serves both: the state takes it as a committed event (its seq is not known
    // yet; the projection does not read it), the log as a new one (it ignores sessionId, seq).
    const event = typedRecord(
      {
        id: newId(),
        type,
        sessionId,
        ts: isoNow(),
        source: 'engine',
        correlationId: workflowId,
        data: { ...data, workflowId },
      },
      ENGINE_MADE.has(type),
    );
    applyEvent(this.#o.state, event as AnyEvent);
    this.#pending.push(event);
    if (!this.#batch) {
      this.#batch = Promise.withResolvers<void>();
      // Only this recorder's own handler: a record nobody awaits must not become an
      // unhandled rejection, and the run learns of the failure through onFailure.
      this.#batch.promise.catch(() => undefined);
      setImmediate(() => this.#send());
    }
    return this.#batch.promise;
  }

  /** Resolves once every event recorded so far is durable; rejects if one was refused. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.#batch) this.#send();
      if (this.#inFlight.size === 0) break;
      await Promise.all(this.#inFlight);
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Hands the pending events to the log as one append. */
  #send(): void {
    const batch = this.#batch;
    if (!batch) return;
    const events = this.#pending;
    this.#pending = [];
    this.#batch = undefined;
    const sent = this.#o.log.append(this.#o.sessionId, events).then(
      () => batch.resolve(),
      (error: unknown) => {
        batch.reject(error);
        if (this.#failure !== undefined) return;
        this.#failure = toOrchestratorError(error, 'STORE_UNAVAILABLE');
        this.#o.onFailure(this.#failure);
      },
    );
    this.#inFlight.add(sent);
    void sent.then(() => this.#inFlight.delete(sent));
  }
}

// Events recorded in the same millisecond share one ISO string (formatting a Date costs about
// a microsecond, and hundreds of events are recorded per millisecond).
let lastMs = Number.NaN;
let lastIso = '';

function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

import {
  type AnyEvent,
  EventBus,
  type EventFilter,
  type EventHandler,
  type EventReader,
  type EventStream,
  type FilteredEvent,
  type NewEvent,
  type OrchestratorEvent,
  prepareEvent,
  type StreamOptions,
  type SubscribeOptions,
  type Subscription,
} from '../events/index.ts';
import {
  type AppendOptions,
  type EventStore,
  handPayloadTexts,
  type ListSessionsOptions,
  type PayloadStore,
  type SessionSummary,
  takePayloadTexts,
} from '../store/index.ts';
import { limitPayload, type PayloadLimits } from './payload-limits.ts';

/** Options of {@link EventLog}. */
export interface EventLogOptions {
  /** The bus that receives committed events. @default a new bus */
  bus?: EventBus;
  /** `source` of events that do not name one. @default `orchestrator` */
  defaultSource?: string;
  /**
   * Applied to every event's `data` before it is validated, stored or published: replaces
   * known secret values (the security area's `Redactor`). @default none (payloads as given)
   */
  redactor?: PayloadRedactor;
  /** Size limits of payloads (see {@link PayloadLimits}). @default none: events are written as they are */
  limits?: PayloadLimits;
  /**
   * Where the full values of shortened fields are stored (the store's `payloads`), before the
   * events naming them. @default none: a shortened value stays only in the agent's transcript
   */
  payloads?: PayloadStore;
}

/** What the log needs of a redactor: a copy of a JSON-like value without secrets (or the value itself). */
export interface PayloadRedactor {
  redact<T>(value: T): T;
}

/**
 * The durable log and its live view in one object: appends are validated, committed to the
 * store, and only then published on the bus, in commit order. Streams that start from a
 * sequence number catch up from the store and then go live without gap or duplicate.
 * This is the only write path of events: nothing publishes an uncommitted event.
 */
export class EventLog {
  readonly store: EventStore;
  readonly bus: EventBus;
  readonly #defaultSource: string;
  readonly #redactor: PayloadRedactor | undefined;
  readonly #limits: PayloadLimits | undefined;
  readonly #payloads: PayloadStore | undefined;
  /** Per session, the last turn of appends that store blobs first (see #takeTurn). */
  readonly #turns = new Map<string, Promise<void>>();
  /** Fencing tokens of the sessions this process owns (see {@link fence}). */
  readonly #fences = new Map<string, number>();
  /** What streams catch up from: the store, read as empty once the log is closing (see close). */
  readonly #reader: EventReader;
  #closing: Promise<void> | undefined;

  constructor(store: EventStore, options: EventLogOptions = {}) {
    this.store = store;
    this.#defaultSource = options.defaultSource ?? 'orchestrator';
    this.#redactor = options.redactor;
    this.#limits = options.limits;
    this.#payloads = options.payloads;
    this.#reader = {
      read: async (sessionId, range) => {
        try {
          return await store.read(sessionId, range);
        } catch (error) {
          // The store closes under a stream still catching up: that stream is about to end
          // with the bus (close), so it ends plainly rather than with the store's error.
          if (this.#closing) return [];
          throw error;
        }
      },
    };
    this.bus =
      options.bus ??
      new EventBus({
        // A subscriber's failure becomes an event in the session whose event it failed on,
        // so it is as durable and visible as everything else. The bus never reports failures
        // while handling such a report, so this cannot loop.
        onSubscriberFailure: (failure) => {
          this.append(failure.event.sessionId, [
            {
              type: 'system.subscriber_failed',
              source: 'bus',
              causationId: failure.event.id,
              correlationId: failure.event.correlationId,
              data: {
                subscriber: failure.subscriber,
                reason: failure.reason,
                message: failure.message,
                eventId: failure.event.id,
                eventType: failure.event.type,
              },
            },
          ]).catch(() => {
            // The store is closing or unavailable: the failure was already counted in the
            // subscription's stats; there is nowhere durable left to report it.
          });
        },
      });
  }

  /**
   * Validates, commits and publishes events for one session, their payloads redacted first
   * (see {@link EventLogOptions.redactor}); agent-produced fields over the payload limits are
   * shortened (see {@link PayloadLimits}). Validation happens once, at the boundary: events
   * built by the project's typed constructors (marked with `typedEvent` of the events area) are
   * redacted and limited like any other but not parsed again; everything else is.
   * The full (redacted) value of a shortened field is stored as a payload blob of the session
   * before the events are appended (see {@link EventLogOptions.payloads}): an event never names a
   * blob that is not stored. Appends that shorten nothing cost nothing more, unless an earlier
   * append to the same session is still storing its blobs: they wait for it, so appends of one
   * process keep their call order.
   * @returns the committed events with their sequence numbers.
   * @throws OrchestratorError `EVENT_INVALID` or `LIMIT_EXCEEDED` before anything is written, or the store's errors.
   */
  async append(sessionId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AnyEvent[]> {
    const redactor = this.#redactor;
    const limits = this.#limits;
    // Redacted first: nothing after this point (validation errors included) sees a secret.
    // Limited after: the digest of a shortened field is of its redacted text.
    // The limits measure each payload's JSON text: the store is handed those texts with the
    // batch (handPayloadTexts) so it does not serialize the payloads again.
    const texts: (string | undefined)[] | undefined = limits ? new Array(events.length) : undefined;
    const blobs = limits && this.#payloads ? new Map<string, string>() : undefined;
    const pending = events.map((event, i) => {
      const prepared = prepareEvent(redactor ? redactPayload(event, redactor) : event, this.#defaultSource);
      return limits ? limitPayload(prepared, limits, texts, i, blobs) : prepared;
    });
    // Only an append with blobs to store, or one behind such an append, takes a turn.
    const turn = (blobs && blobs.size > 0) || this.#turns.has(sessionId) ? this.#takeTurn(sessionId) : undefined;
    let appending: Promise<unknown>;
    try {
      if (turn) {
        await turn.ready;
        if (blobs && blobs.size > 0) await this.#storeBlobs(sessionId, blobs);
      }
      const token = options?.fencingToken ?? this.#fences.get(sessionId);
      const fenced = token === undefined ? options : { ...options, fencingToken: token };
      if (texts) handPayloadTexts(pending, texts);
      appending = this.store.append(sessionId, pending, fenced);
      // Taken by the store's synchronous part; not left behind when a store did not take them.
      if (texts) takePayloadTexts(pending);
    } finally {
      // The events are handed to the store (in order) or this append failed: the next may go.
      turn?.done();
    }
    const committed = (await appending) as AnyEvent[];
    this.bus.publish(committed);
    return committed;
  }

  /**
   * A place in the session's queue of appends that store blobs first: `ready` once every
   * earlier one has handed its events to the store (or failed), so appends of one process keep
   * their call order although some wait for their blobs.
   */
  #takeTurn(sessionId: string): { ready: Promise<void>; done(): void } {
    const ready = this.#turns.get(sessionId) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#turns.set(sessionId, mine);
    return {
      ready,
      done: () => {
        done();
        if (this.#turns.get(sessionId) === mine) this.#turns.delete(sessionId);
      },
    };
  }

  #storeBlobs(sessionId: string, blobs: Map<string, string>): Promise<number> {
    const payloads = this.#payloads as PayloadStore;
    return payloads.putPayloads(
      sessionId,
      [...blobs].map(([hash, text]) => ({ hash, bytes: Buffer.from(text, 'utf8') })),
    );
  }

  /**
   * From now on every append of this log to the session carries `token`, the fencing token of
   * this process's lease on it: the engine's, the agents', the monitor's, all of them. Once
   * another process takes the session over, the store refuses them (`LEASE_LOST`), so a process
   * that was frozen and wakes up cannot write into a session it no longer owns.
   */
  fence(sessionId: string, token: number): void {
    this.#fences.set(sessionId, token);
  }

  /** Appends to the session are no longer fenced (its lease was released). */
  unfence(sessionId: string): void {
    this.#fences.delete(sessionId);
  }

  /** Every event of a session from `fromSeq`, read page by page from the store. */
  async *readAll(sessionId: string, fromSeq = 1, pageSize = 1000): AsyncGenerator<AnyEvent> {
    let next = fromSeq;
    for (;;) {
      const page = await this.store.read(sessionId, { fromSeq: next, limit: pageSize });
      for (const event of page) yield event as AnyEvent;
      if (page.length < pageSize) return;
      next = (page.at(-1) as OrchestratorEvent).seq + 1;
    }
  }

  /** Live subscription to committed events; returns the unsubscribe function. */
  subscribe<const F extends EventFilter>(
    filter: F,
    handler: EventHandler<FilteredEvent<F>>,
    options?: SubscribeOptions,
  ): Subscription {
    return this.bus.subscribe(filter, handler, options);
  }

  /**
   * A stream of committed events. With `sessionId` and `fromSeq`, it first replays the log
   * from that point, then continues live; an overflowing stream re-reads what it missed.
   */
  stream<const F extends EventFilter>(
    filter: F,
    options: Omit<StreamOptions, 'reader'> = {},
  ): EventStream<FilteredEvent<F>> {
    return this.bus.stream(filter, { ...options, reader: this.#reader });
  }

  /** The session's last sequence number (0 for none). */
  lastSeq(sessionId: string): Promise<number> {
    return this.store.lastSeq(sessionId);
  }

  /** Sessions known to the store, newest first. */
  listSessions(options?: ListSessionsOptions): Promise<SessionSummary[]> {
    return this.store.listSessions(options);
  }

  /**
   * Closes the store after pending appends are committed (and published), then closes the bus:
   * every open stream ends, its `for await` loop finishing plainly (`done`, no error item, even
   * when the stream was still catching up from the store), every subscription is dropped, and
   * later `stream()` and `subscribe()` calls throw `STREAM_CLOSED`. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.store.close();
      } finally {
        this.bus.close();
      }
    })();
    return this.#closing;
  }
}

function redactPayload(event: NewEvent, redactor: PayloadRedactor): NewEvent {
  const data = redactor.redact(event.data);
  // Redaction only replaces secret strings: the copy keeps a typed event's mark (see typedEvent).
  return data === event.data ? event : ({ ...event, data } as NewEvent);
}

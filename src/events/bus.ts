import { OrchestratorError } from '../errors/index.ts';
import type {
  BusSink,
  EventBusOptions,
  EventHandler,
  StreamOptions,
  SubscribeOptions,
  Subscription,
  SubscriptionStats,
} from './bus-types.ts';
import type { OrchestratorEvent } from './envelope.ts';
import { compileFilter, describe, type EventFilter, type FilteredEvent } from './pattern.ts';
import { EventStream } from './stream.ts';
import { HandlerSink } from './subscription.ts';

/** Default queue bound of a subscription or stream. */
export const DEFAULT_BUFFER_SIZE = 10_000;
/** Default time a handler's promise may take before it is reported as a timeout. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

const MAX_TIMER_MS = 2_147_483_647;

/** The receivers of one event type: those of every session, and those of one session each. */
interface TypeRoute {
  readonly any: BusSink[];
  readonly bySession: Map<string, BusSink[]>;
}

/**
 * The in-process bus of committed events. The event log appends to the store, then calls
 * {@link EventBus.publish} in commit order; the bus fans the events out to handlers and
 * streams, each behind its own bounded queue, and keeps no history (the log does).
 *
 * Guarantees: `publish` never blocks and never runs subscriber code; each receiver gets its
 * matching events in publish order, one at a time; a failing or slow handler is reported and
 * skipped past without affecting others; a full queue is never dropped silently (counted per
 * session and reported as a gap, or for a stream with a reader, read back from the log).
 *
 * @example
 * const bus = new EventBus({ onSubscriberFailure: (f) => log.warn(f) });
 * const off = bus.subscribe({ pattern: 'agent.*' }, (e) => console.log(e.type, e.data.agentId));
 * for await (const item of bus.stream({ sessionId }, { fromSeq: 1, reader: store })) { ... }
 */
export class EventBus {
  readonly #hooks: EventBusOptions;
  #sinks: BusSink[] = [];
  /** Receivers per event type, rebuilt lazily after every subscribe and unsubscribe. */
  readonly #routes = new Map<string, TypeRoute>();
  #ready: HandlerSink[] = [];
  #drainQueued = false;
  #closed = false;
  #counter = 0;

  constructor(options: EventBusOptions = {}) {
    this.#hooks = options;
  }

  /**
   * Hands committed events to every matching receiver's queue and returns at once; delivery
   * happens in a microtask. Publishing on a closed bus does nothing.
   */
  publish(events: readonly OrchestratorEvent[]): void {
    if (this.#closed) return;
    const routes = this.#routes;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as OrchestratorEvent;
      const route = routes.get(event.type) ?? this.#route(event.type);
      const any = route.any;
      for (let j = 0; j < any.length; j++) (any[j] as BusSink).offer(event);
      if (route.bySession.size > 0) {
        const scoped = route.bySession.get(event.sessionId);
        if (scoped !== undefined) for (let j = 0; j < scoped.length; j++) (scoped[j] as BusSink).offer(event);
      }
    }
  }

  /**
   * Calls `handler` with each matching event, in publish order, one at a time.
   * @returns a handle: call it to unsubscribe (queued events are discarded); `.stats()` counts.
   * @throws OrchestratorError `INVALID_ARGUMENT` for a bad filter or option;
   * `STREAM_CLOSED` when the bus is closed.
   */
  subscribe<const F extends EventFilter>(
    filter: F,
    handler: EventHandler<FilteredEvent<F>>,
    options: SubscribeOptions = {},
  ): Subscription {
    this.#assertOpen();
    const compiled = compileFilter(filter);
    if (typeof handler !== 'function') {
      throw new OrchestratorError('INVALID_ARGUMENT', `handler must be a function, got ${describe(handler)}`);
    }
    checkOptions(options, ['name', 'bufferSize', 'handlerTimeoutMs', 'onOverflow']);
    const name = options.name ?? `subscriber-${++this.#counter}`;
    const sink = new HandlerSink(compiled, handler as EventHandler<OrchestratorEvent>, {
      name,
      bufferSize: options.bufferSize ?? DEFAULT_BUFFER_SIZE,
      handlerTimeoutMs: options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS,
      onOverflow: options.onOverflow,
      hooks: this.#hooks,
      schedule: this.#schedule,
    });
    const detach = this.#attach(sink);
    const unsubscribe = () => {
      detach();
      sink.close();
    };
    // A function's own `name` is read-only but configurable, so it is redefined, not assigned.
    Object.defineProperty(unsubscribe, 'name', { value: name });
    return Object.assign(unsubscribe as () => void, { stats: () => sink.stats() }) as Subscription;
  }

  /**
   * Opens a stream of matching events, registered now (events published before the first
   * `next()` are kept). With `fromSeq` and a `reader` it first replays the session from the log.
   * @throws OrchestratorError `INVALID_ARGUMENT` for a bad filter or option;
   * `STREAM_CLOSED` when the bus is closed.
   */
  stream<const F extends EventFilter>(filter: F, options: StreamOptions = {}): EventStream<FilteredEvent<F>> {
    this.#assertOpen();
    const compiled = compileFilter(filter);
    checkOptions(options, ['name', 'bufferSize', 'heartbeatMs', 'fromSeq', 'reader', 'pageSize', 'signal']);
    const issues: string[] = [];
    const beat = options.heartbeatMs;
    if (beat !== undefined && !(typeof beat === 'number' && beat > 0 && beat <= MAX_TIMER_MS)) {
      issues.push(`heartbeatMs: expected a number in (0, ${MAX_TIMER_MS}], got ${describe(beat)}`);
    }
    if (options.fromSeq !== undefined) {
      if (!Number.isSafeInteger(options.fromSeq) || options.fromSeq < 1) {
        issues.push(`fromSeq: expected an integer >= 1, got ${describe(options.fromSeq)}`);
      }
      if (compiled.sessionId === null) issues.push('fromSeq: needs filter.sessionId (a log is read per session)');
      if (options.reader === undefined) issues.push('fromSeq: needs a reader to catch up from');
    }
    if (options.reader !== undefined && typeof options.reader?.read !== 'function') {
      issues.push(`reader: expected an object with read(sessionId, options), got ${describe(options.reader)}`);
    }
    if (options.pageSize !== undefined && !(Number.isSafeInteger(options.pageSize) && options.pageSize > 0)) {
      issues.push(`pageSize: expected a positive integer, got ${describe(options.pageSize)}`);
    }
    if (issues.length > 0) {
      throw new OrchestratorError('INVALID_ARGUMENT', `invalid stream options: ${issues.join('; ')}`, {
        details: { issues },
      });
    }
    const stream = new EventStream<FilteredEvent<F>>(compiled, {
      name: options.name ?? `stream-${++this.#counter}`,
      bufferSize: options.bufferSize ?? DEFAULT_BUFFER_SIZE,
      heartbeatMs: options.heartbeatMs ?? null,
      fromSeq: options.fromSeq ?? null,
      reader: options.reader ?? null,
      pageSize: options.pageSize ?? 1000,
      signal: options.signal ?? null,
      hooks: this.#hooks,
      attach: (sink) => this.#attach(sink),
    });
    return stream;
  }

  /** Counters of every open subscription and stream. */
  stats(): SubscriptionStats[] {
    return this.#sinks.map((sink) => sink.stats());
  }

  /** Unsubscribes every handler and ends every stream; later subscribes throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const sinks = this.#sinks;
    this.#sinks = [];
    this.#routes.clear();
    for (const sink of sinks) sink.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new OrchestratorError('STREAM_CLOSED', 'the event bus is closed');
  }

  #attach(sink: BusSink): () => void {
    // Copy on write: a publish in progress keeps iterating the arrays it already holds.
    this.#sinks = [...this.#sinks, sink];
    this.#routes.clear();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#sinks = this.#sinks.filter((s) => s !== sink);
      this.#routes.clear();
    };
  }

  #route(type: string): TypeRoute {
    const route: TypeRoute = { any: [], bySession: new Map() };
    for (const sink of this.#sinks) {
      if (!sink.filter.matchesType(type)) continue;
      const sessionId = sink.filter.sessionId;
      if (sessionId === null) {
        route.any.push(sink);
      } else {
        const list = route.bySession.get(sessionId);
        if (list === undefined) route.bySession.set(sessionId, [sink]);
        else list.push(sink);
      }
    }
    this.#routes.set(type, route);
    return route;
  }

  readonly #schedule = (sink: HandlerSink): void => {
    this.#ready.push(sink);
    if (!this.#drainQueued) {
      this.#drainQueued = true;
      queueMicrotask(this.#drainReady);
    }
  };

  readonly #drainReady = (): void => {
    this.#drainQueued = false;
    const ready = this.#ready;
    this.#ready = [];
    for (let i = 0; i < ready.length; i++) (ready[i] as HandlerSink).run();
  };
}

/** Rejects option objects with unknown keys and bad numeric fields, all problems at once. */
function checkOptions(options: object, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    throw new OrchestratorError('INVALID_ARGUMENT', `options must be an object, got ${describe(options)}`);
  }
  const issues: string[] = [];
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!known.includes(key)) issues.push(`unknown option "${key}"`);
  const size = record.bufferSize;
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) > 0)) {
    issues.push(`bufferSize: expected a positive integer, got ${describe(size)}`);
  }
  const timeout = record.handlerTimeoutMs;
  // setTimeout turns delays above 2^31-1 ms into 1 ms, so those are refused rather than clamped.
  const timeoutOk =
    timeout === Number.POSITIVE_INFINITY || (typeof timeout === 'number' && timeout > 0 && timeout <= MAX_TIMER_MS);
  if (timeout !== undefined && !timeoutOk) {
    issues.push(`handlerTimeoutMs: expected a number in (0, ${MAX_TIMER_MS}] or Infinity, got ${describe(timeout)}`);
  }
  const name = record.name;
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    issues.push(`name: expected a non-empty string, got ${describe(name)}`);
  }
  for (const key of ['onOverflow']) {
    if (record[key] !== undefined && typeof record[key] !== 'function') {
      issues.push(`${key}: expected a function, got ${describe(record[key])}`);
    }
  }
  if (issues.length > 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `invalid options: ${issues.join('; ')}`, { details: { issues } });
  }
}

import type { OrchestratorEvent } from './envelope.ts';
import type { CompiledFilter } from './pattern.ts';

/**
 * Events a subscriber or stream did not receive because its queue was full, for one session:
 * `missed` matching events with sequence numbers between `fromSeq` and `toSeq` (inclusive;
 * the range may also hold events the filter excludes). Read them back from the log.
 */
export interface EventGap {
  readonly sessionId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly missed: number;
}

/**
 * Receives one event at a time, in publish order. A returned promise is awaited (up to the
 * subscription's `handlerTimeoutMs`) before the next event is delivered.
 */
export type EventHandler<E extends OrchestratorEvent> = (event: E) => void | PromiseLike<void>;

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Names the subscriber in failure reports and stats. @default `subscriber-<n>` */
  readonly name?: string;
  /**
   * At most this many events wait for the handler. When the queue is full the bus stops
   * queuing, counts what the subscriber misses, and calls `onOverflow` once the queue drains.
   * @default 10_000
   */
  readonly bufferSize?: number;
  /**
   * A handler's promise that has not settled after this long is reported as a `timeout` and
   * delivery moves on (the promise is left to finish). `Infinity` disables it. A synchronous
   * handler cannot be interrupted, so this applies to promises only.
   * @default 30_000
   */
  readonly handlerTimeoutMs?: number;
  /**
   * Called, in order with the events, after an overflow: once per session that lost events,
   * after the last event queued before the overflow and before the first one queued after it.
   * Awaited like the handler. Whether or not it is given, the bus's `onSubscriberOverflow` hook
   * and the subscription's stats record every gap.
   * @default none
   */
  readonly onOverflow?: (gap: EventGap) => void | PromiseLike<void>;
}

/** Counters of one subscription or stream. */
export interface SubscriptionStats {
  readonly kind: 'subscription' | 'stream';
  readonly name: string;
  /** Events handed over successfully (handler returned or resolved; stream yielded). */
  readonly delivered: number;
  /** Events not queued because the queue was full. */
  readonly missed: number;
  /** Stream only: missed events read back from the log instead. */
  readonly recovered: number;
  /** Overflow notices delivered (`onOverflow` calls, or `gap` items of a stream). */
  readonly gaps: number;
  /** Handler calls that threw, rejected or timed out (including `onOverflow`). */
  readonly failures: number;
  /** Failures not passed to `onSubscriberFailure`, to avoid report loops. */
  readonly unreportedFailures: number;
  /** Events waiting in the queue now. */
  readonly queued: number;
  /** True while events are being missed (the queue has not drained since it filled). */
  readonly overflowing: boolean;
  readonly closed: boolean;
}

/** The handle `subscribe` returns: call it to unsubscribe (idempotent). */
export interface Subscription {
  (): void;
  readonly name: string;
  /** A snapshot of this subscription's counters. */
  stats(): SubscriptionStats;
}

/** What the bus reports when a handler throws, rejects or times out. */
export interface SubscriberFailure {
  readonly subscriber: string;
  readonly reason: 'threw' | 'timeout';
  readonly message: string;
  /** The event the handler was given. */
  readonly event: OrchestratorEvent;
  /** The thrown value or rejection reason; absent for a timeout. */
  readonly error?: unknown;
}

/** What the bus reports when a subscriber or stream lost events to a full queue. */
export interface SubscriberOverflow {
  readonly subscriber: string;
  readonly gap: EventGap;
  /** True when a stream read the missed events back from the log (nothing was lost). */
  readonly recovered: boolean;
}

/** Options of the {@link EventBus} constructor. */
export interface EventBusOptions {
  /**
   * Told about every handler failure except those on `system.subscriber_failed` events
   * (counted only, so a failing subscriber cannot cause a loop). The log owner appends a
   * `system.subscriber_failed` event from it. Its own errors are counted and ignored.
   * @default none
   */
  readonly onSubscriberFailure?: (failure: SubscriberFailure) => void | PromiseLike<void>;
  /** Told about every overflow gap, when it is delivered or recovered. @default none */
  readonly onSubscriberOverflow?: (overflow: SubscriberOverflow) => void;
}

/**
 * Reads a session's committed events in sequence order; the event store satisfies it.
 * A stream uses it to catch up from a sequence number and to recover what it missed.
 */
export interface EventReader {
  read(
    sessionId: string,
    options: { fromSeq?: number; toSeq?: number; limit?: number },
  ): Promise<readonly OrchestratorEvent[]>;
}

/** One item of an {@link EventStream}. */
export type StreamItem<E extends OrchestratorEvent = OrchestratorEvent> =
  | { readonly kind: 'event'; readonly event: E }
  | { readonly kind: 'heartbeat'; readonly at: string }
  | ({ readonly kind: 'gap' } & EventGap);

/** Options of {@link EventBus.stream}. */
export interface StreamOptions {
  /** Names the stream in stats and overflow reports. @default `stream-<n>` */
  readonly name?: string;
  /** At most this many live events wait for the consumer. @default 10_000 */
  readonly bufferSize?: number;
  /** Yield a `heartbeat` item after waiting this long for an event. @default none */
  readonly heartbeatMs?: number;
  /**
   * Replay the filter's session from this sequence number (inclusive) through `reader`, then
   * continue live with no gap and no duplicate. Needs `filter.sessionId` and `reader`.
   * @default none (live events only)
   */
  readonly fromSeq?: number;
  /**
   * The log to catch up from and to re-read missed events from on overflow; without it an
   * overflow yields a `gap` item.
   * @default none
   */
  readonly reader?: EventReader;
  /** Events per `reader.read` call. @default 1000 */
  readonly pageSize?: number;
  /** Closes the stream when aborted. @default none */
  readonly signal?: AbortSignal;
}

/** What the bus needs of a registered receiver (a subscription or a stream). */
export interface BusSink {
  readonly filter: CompiledFilter;
  /** Takes a matching event during `publish`: must queue it, never call user code. */
  offer(event: OrchestratorEvent): void;
  close(): void;
  stats(): SubscriptionStats;
}

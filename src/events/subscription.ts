import type {
  BusSink,
  EventBusOptions,
  EventGap,
  EventHandler,
  SubscriberFailure,
  SubscriptionStats,
} from './bus-types.ts';
import type { OrchestratorEvent } from './envelope.ts';
import type { CompiledFilter } from './pattern.ts';
import { RingQueue } from './ring.ts';

/** A gap being counted while a queue is full. */
export interface MutableGap {
  sessionId: string;
  fromSeq: number;
  toSeq: number;
  missed: number;
}

/** Records a missed event in per-session gap counters. */
export function countMissed(gaps: Map<string, MutableGap>, event: OrchestratorEvent): void {
  const gap = gaps.get(event.sessionId);
  if (gap === undefined) {
    gaps.set(event.sessionId, { sessionId: event.sessionId, fromSeq: event.seq, toSeq: event.seq, missed: 1 });
  } else {
    if (event.seq < gap.fromSeq) gap.fromSeq = event.seq;
    if (event.seq > gap.toSeq) gap.toSeq = event.seq;
    gap.missed++;
  }
}

/** Settings of a {@link HandlerSink}, already validated. */
export interface HandlerSinkSettings {
  readonly name: string;
  readonly bufferSize: number;
  readonly handlerTimeoutMs: number;
  readonly onOverflow: ((gap: EventGap) => void | PromiseLike<void>) | undefined;
  readonly hooks: EventBusOptions;
  /** Asks the bus to call `run()` soon, off the publisher's stack. */
  readonly schedule: (sink: HandlerSink) => void;
}

const FAILED_TYPE = 'system.subscriber_failed';

/**
 * A handler subscription: a bounded queue drained one event at a time. Synchronous handlers
 * are called in a plain loop (no promise or closure per event); a handler that returns a
 * thenable parks the drain until it settles or times out. A token numbers each parked call so
 * a late settlement after a timeout (or after close) is ignored.
 */
export class HandlerSink implements BusSink {
  readonly filter: CompiledFilter;
  readonly #handler: EventHandler<OrchestratorEvent>;
  readonly #settings: HandlerSinkSettings;
  readonly #queue = new RingQueue<OrchestratorEvent>();
  /** Non-null while overflowing: what is being missed, per session. */
  #overflow: Map<string, MutableGap> | null = null;
  /** Gaps waiting to be delivered, ahead of the queue. */
  #pendingGaps: EventGap[] | null = null;
  #scheduled = false;
  #busy = false;
  #closed = false;
  #token = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delivered = 0;
  #missed = 0;
  #gaps = 0;
  #failures = 0;
  #unreported = 0;

  constructor(filter: CompiledFilter, handler: EventHandler<OrchestratorEvent>, settings: HandlerSinkSettings) {
    this.filter = filter;
    this.#handler = handler;
    this.#settings = settings;
  }

  offer(event: OrchestratorEvent): void {
    const matches = this.filter.matchesEvent;
    if (matches !== null && !matches(event)) return;
    if (this.#overflow !== null) {
      this.#missed++;
      countMissed(this.#overflow, event);
      return;
    }
    if (this.#queue.size >= this.#settings.bufferSize) {
      this.#overflow = new Map();
      this.#missed++;
      countMissed(this.#overflow, event);
      return;
    }
    this.#queue.push(event);
    if (!this.#scheduled && !this.#busy) {
      this.#scheduled = true;
      this.#settings.schedule(this);
    }
  }

  /** Delivers what is queued; called by the bus from a microtask. */
  run(): void {
    this.#scheduled = false;
    if (!this.#busy) this.#drain();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#token++;
    clearTimeout(this.#timer);
    this.#queue.clear();
    this.#overflow = null;
    this.#pendingGaps = null;
  }

  stats(): SubscriptionStats {
    return {
      kind: 'subscription',
      name: this.#settings.name,
      delivered: this.#delivered,
      missed: this.#missed,
      recovered: 0,
      gaps: this.#gaps,
      failures: this.#failures,
      unreportedFailures: this.#unreported,
      queued: this.#queue.size,
      overflowing: this.#overflow !== null,
      closed: this.#closed,
    };
  }

  #drain(): void {
    const queue = this.#queue;
    for (;;) {
      if (this.#closed) return;
      if (this.#pendingGaps !== null) {
        const gap = this.#pendingGaps.shift() as EventGap;
        if (this.#pendingGaps.length === 0) this.#pendingGaps = null;
        if (this.#deliverGap(gap)) return;
        continue;
      }
      if (queue.size === 0) {
        if (this.#overflow === null) return;
        // The queue drained: report the gaps ahead of anything queued from now on.
        this.#pendingGaps = [...this.#overflow.values()];
        this.#overflow = null;
        continue;
      }
      const event = queue.shift() as OrchestratorEvent;
      let result: void | PromiseLike<void>;
      try {
        result = this.#handler(event);
      } catch (error) {
        this.#fail('threw', event, error);
        continue;
      }
      if (result != null && typeof result.then === 'function') {
        this.#park(result, event);
        return;
      }
      this.#delivered++;
    }
  }

  /** Returns true when the drain must wait for the notice's promise. */
  #deliverGap(gap: EventGap): boolean {
    this.#gaps++;
    try {
      this.#settings.hooks.onSubscriberOverflow?.({ subscriber: this.#settings.name, gap, recovered: false });
    } catch {
      this.#unreported++;
    }
    const onOverflow = this.#settings.onOverflow;
    if (onOverflow === undefined) return false;
    let result: void | PromiseLike<void>;
    try {
      result = onOverflow(gap);
    } catch {
      this.#failures++;
      this.#unreported++;
      return false;
    }
    if (result != null && typeof result.then === 'function') {
      this.#park(result, null);
      return true;
    }
    return false;
  }

  /** Waits for a handler's promise (event) or an overflow notice's promise (null). */
  #park(result: PromiseLike<void>, event: OrchestratorEvent | null): void {
    this.#busy = true;
    const token = ++this.#token;
    const timeoutMs = this.#settings.handlerTimeoutMs;
    if (timeoutMs !== Number.POSITIVE_INFINITY) {
      this.#timer = setTimeout(() => this.#settle(token, event, 'timeout', undefined), timeoutMs);
      this.#timer.unref?.();
    }
    // Promise.resolve adopts a native promise as is, and makes a foreign thenable settle
    // asynchronously, so a synchronous `then` cannot recurse into the drain.
    Promise.resolve(result).then(
      () => this.#settle(token, event, null, undefined),
      (error: unknown) => this.#settle(token, event, 'threw', error),
    );
  }

  #settle(token: number, event: OrchestratorEvent | null, failure: 'threw' | 'timeout' | null, error: unknown): void {
    if (token !== this.#token || this.#closed) return;
    this.#token++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#busy = false;
    if (failure === null) {
      if (event !== null) this.#delivered++;
    } else if (event === null) {
      this.#failures++;
      this.#unreported++;
    } else {
      this.#fail(failure, event, error);
    }
    this.#drain();
  }

  #fail(reason: 'threw' | 'timeout', event: OrchestratorEvent, error: unknown): void {
    this.#failures++;
    const report = this.#settings.hooks.onSubscriberFailure;
    // A failure on a failure report is only counted: reporting it would publish another
    // report, which this subscriber may fail on again, forever.
    if (report === undefined || event.type === FAILED_TYPE) {
      this.#unreported++;
      return;
    }
    const message =
      reason === 'timeout'
        ? `handler did not settle within ${this.#settings.handlerTimeoutMs} ms`
        : error instanceof Error
          ? error.message
          : String(error);
    const failure: SubscriberFailure =
      reason === 'timeout'
        ? { subscriber: this.#settings.name, reason, message, event }
        : { subscriber: this.#settings.name, reason, message, event, error };
    try {
      const result = report(failure);
      if (result != null && typeof result.then === 'function') {
        result.then(undefined, () => {
          this.#unreported++;
        });
      }
    } catch {
      this.#unreported++;
    }
  }
}

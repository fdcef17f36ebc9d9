import type { BusSink, EventBusOptions, EventGap, EventReader, StreamItem, SubscriptionStats } from './bus-types.ts';
import type { AnyEvent, OrchestratorEvent } from './envelope.ts';
import type { CompiledFilter } from './pattern.ts';
import { RingQueue } from './ring.ts';
import { countMissed, type MutableGap } from './subscription.ts';

/** Settings of an {@link EventStream}, validated by the bus. */
export interface StreamSettings {
  readonly name: string;
  readonly bufferSize: number;
  readonly heartbeatMs: number | null;
  readonly fromSeq: number | null;
  readonly reader: EventReader | null;
  readonly pageSize: number;
  readonly signal: AbortSignal | null;
  readonly hooks: EventBusOptions;
  /** Registers the stream's receiver with the bus; returns the detach function. */
  readonly attach: (sink: BusSink) => () => void;
}

/** The lifecycle of an {@link EventStream}. */
export type StreamState = 'catching_up' | 'live' | 'recovering' | 'closed';

/** A missed range being read back from the log. */
interface Reread {
  readonly sessionId: string;
  readonly originalFrom: number;
  cursor: number;
  readonly toSeq: number;
  readonly missed: number;
  recovered: number;
  /** False when part of the range was already delivered by the catch-up, so counts differ. */
  exact: boolean | null;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const NO_EVENTS: readonly OrchestratorEvent[] = [];

/**
 * A live, filtered sequence of committed events for `for await`, created by
 * {@link EventBus.stream}. Its receiver is registered when the stream is created, so nothing
 * published before the first `next()` is lost.
 *
 * With `fromSeq` it replays the session from the reader first, then continues live: live events
 * are buffered meanwhile, pages are read until one comes back empty, and buffered events at or
 * below the last sequence read are skipped, so there is no gap and no duplicate. When its buffer
 * fills it stops buffering and counts the misses per session; once the consumer drains the
 * buffer it reads the missed ranges back from the reader (the consumer sees no gap), or without
 * a reader yields a `gap` item with the counts. Order is publish order, except that events read
 * back after an overflow keep their order within each session but may come after live events
 * of other sessions.
 */
export class EventStream<E extends OrchestratorEvent = AnyEvent> implements AsyncIterator<StreamItem<E>, undefined> {
  readonly #filter: CompiledFilter;
  readonly #settings: StreamSettings;
  readonly #buffer = new RingQueue<OrchestratorEvent>();
  readonly #detach: () => void;
  #overflow: Map<string, MutableGap> | null = null;
  #gapItems: StreamItem<E>[] = [];
  #rereads: Reread[] = [];
  #replay: readonly OrchestratorEvent[] = NO_EVENTS;
  #replayIndex = 0;
  /** Next sequence number to read while catching up; null once caught up. */
  #catchUpFrom: number | null;
  /** For a one-session stream: the highest sequence number delivered or read; later ones only. */
  #covered: number;
  #wake: (() => void) | null = null;
  #inflight: Promise<IteratorResult<StreamItem<E>, undefined>> | null = null;
  #closed = false;
  #delivered = 0;
  #missed = 0;
  #recovered = 0;
  #gaps = 0;
  readonly #onAbort = (): void => this.close();

  constructor(filter: CompiledFilter, settings: StreamSettings) {
    this.#filter = filter;
    this.#settings = settings;
    this.#catchUpFrom = settings.fromSeq;
    this.#covered = settings.fromSeq === null ? 0 : settings.fromSeq - 1;
    this.#detach = settings.attach({
      filter,
      offer: (event) => this.#offer(event),
      close: () => this.close(),
      stats: () => this.stats(),
    });
    if (settings.signal !== null) {
      if (settings.signal.aborted) this.close();
      else settings.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** This object: a stream is consumed once, by one `for await`. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next item: an event, a heartbeat after `heartbeatMs` idle, or a gap after an overflow
   * the reader could not cover.
   * @throws the reader's error when catching up fails (the stream is then closed).
   */
  next(): Promise<IteratorResult<StreamItem<E>, undefined>> {
    if (this.#closed) return Promise.resolve(DONE);
    // Calls made while one is pending queue behind it, so items are never handed out twice.
    if (this.#inflight !== null) {
      const after = (): Promise<IteratorResult<StreamItem<E>, undefined>> => this.next();
      return this.#inflight.then(after, after);
    }
    const item = this.#take();
    if (item !== undefined) return Promise.resolve({ done: false, value: item });
    const pending = this.#pull();
    this.#inflight = pending;
    return pending;
  }

  /** Closes the stream (what `break` in a `for await` calls). */
  return(): Promise<IteratorResult<StreamItem<E>, undefined>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** Stops the stream: detaches it from the bus, drops what is buffered, ends iteration. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach();
    this.#settings.signal?.removeEventListener('abort', this.#onAbort);
    this.#buffer.clear();
    this.#overflow = null;
    this.#gapItems = [];
    this.#rereads = [];
    this.#replay = NO_EVENTS;
    this.#wake?.();
  }

  /** True once closed, by `close()`, `break`, the abort signal, the bus closing or a read error. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Where the stream is: `catching_up` (replaying the log from `fromSeq`) → `live`, with
   * `recovering` while it reads back events missed in an overflow, and `closed` for good.
   */
  get state(): StreamState {
    if (this.#closed) return 'closed';
    if (this.#catchUpFrom !== null) return 'catching_up';
    return this.#rereads.length > 0 ? 'recovering' : 'live';
  }

  /** A snapshot of this stream's counters. */
  stats(): SubscriptionStats {
    return {
      kind: 'stream',
      name: this.#settings.name,
      delivered: this.#delivered,
      missed: this.#missed,
      recovered: this.#recovered,
      gaps: this.#gaps,
      failures: 0,
      unreportedFailures: 0,
      queued: this.#buffer.size,
      overflowing: this.#overflow !== null,
      closed: this.#closed,
    };
  }

  /** The whole filter, for events read from the log (live ones are matched by the bus and {@link #offer}). */
  #matches(event: OrchestratorEvent): boolean {
    if (!this.#filter.matchesType(event.type)) return false;
    const matches = this.#filter.matchesEvent;
    return matches === null || matches(event);
  }

  #offer(event: OrchestratorEvent): void {
    const matches = this.#filter.matchesEvent;
    if (matches !== null && !matches(event)) return;
    if (this.#overflow === null && this.#buffer.size < this.#settings.bufferSize) {
      this.#buffer.push(event);
    } else {
      this.#overflow ??= new Map();
      this.#missed++;
      countMissed(this.#overflow, event);
    }
    this.#wake?.();
  }

  /** The next item that needs no I/O, or undefined (nothing ready, or a read is due). */
  #take(): StreamItem<E> | undefined {
    const scoped = this.#filter.sessionId !== null;
    for (;;) {
      if (this.#replayIndex < this.#replay.length) {
        const event = this.#replay[this.#replayIndex++] as OrchestratorEvent;
        if (this.#replayIndex === this.#replay.length) {
          this.#replay = NO_EVENTS;
          this.#replayIndex = 0;
        }
        if (!this.#matches(event)) continue;
        this.#delivered++;
        return { kind: 'event', event: event as E };
      }
      if (this.#catchUpFrom !== null || this.#rereads.length > 0) return undefined;
      if (this.#gapItems.length > 0) return this.#gapItems.shift();
      const event = this.#buffer.shift();
      if (event !== undefined) {
        if (scoped) {
          if (event.seq <= this.#covered) continue;
          this.#covered = event.seq;
        }
        this.#delivered++;
        return { kind: 'event', event: event as E };
      }
      if (this.#overflow === null) return undefined;
      // The buffer drained: deal with the misses before anything buffered from now on.
      const gaps = [...this.#overflow.values()];
      this.#overflow = null;
      for (const gap of gaps) {
        if (this.#settings.reader !== null) {
          this.#rereads.push({ ...gap, originalFrom: gap.fromSeq, cursor: gap.fromSeq, recovered: 0, exact: null });
        } else {
          this.#yieldGap(gap);
        }
      }
    }
  }

  async #pull(): Promise<IteratorResult<StreamItem<E>, undefined>> {
    try {
      for (;;) {
        if (this.#closed) return DONE;
        const item = this.#take();
        if (item !== undefined) return { done: false, value: item };
        if (this.#catchUpFrom !== null) await this.#catchUpPage(this.#catchUpFrom);
        else if (this.#rereads.length > 0) await this.#rereadPage(this.#rereads[0] as Reread);
        else if (await this.#idle()) return { done: false, value: { kind: 'heartbeat', at: new Date().toISOString() } };
      }
    } catch (error) {
      this.close();
      throw error;
    } finally {
      this.#inflight = null;
    }
  }

  async #catchUpPage(fromSeq: number): Promise<void> {
    const sessionId = this.#filter.sessionId as string;
    const reader = this.#settings.reader as EventReader;
    const page = await reader.read(sessionId, { fromSeq, limit: this.#settings.pageSize });
    if (this.#closed) return;
    // Only an empty page proves the log has nothing newer than what we read: a short page
    // may just mean the reader caps its page size.
    const fresh = page.filter((event) => event.seq >= fromSeq);
    if (fresh.length === 0) {
      this.#catchUpFrom = null;
      return;
    }
    const last = (fresh[fresh.length - 1] as OrchestratorEvent).seq;
    this.#covered = Math.max(this.#covered, last);
    this.#catchUpFrom = last + 1;
    this.#replay = fresh;
    this.#replayIndex = 0;
  }

  async #rereadPage(reread: Reread): Promise<void> {
    const scoped = this.#filter.sessionId === reread.sessionId;
    const start = scoped ? Math.max(reread.cursor, this.#covered + 1) : reread.cursor;
    reread.exact ??= start === reread.originalFrom;
    let page: readonly OrchestratorEvent[] = NO_EVENTS;
    let failed = false;
    if (start <= reread.toSeq) {
      try {
        page = await (this.#settings.reader as EventReader).read(reread.sessionId, {
          fromSeq: start,
          toSeq: reread.toSeq,
          limit: this.#settings.pageSize,
        });
      } catch {
        failed = true;
      }
      if (this.#closed) return;
    }
    const fresh = page.filter((event) => event.seq >= start && event.seq <= reread.toSeq);
    if (fresh.length > 0) {
      const last = (fresh[fresh.length - 1] as OrchestratorEvent).seq;
      let matching = 0;
      for (const event of fresh) if (this.#matches(event)) matching++;
      reread.recovered += matching;
      this.#recovered += matching;
      reread.cursor = last + 1;
      if (scoped) this.#covered = Math.max(this.#covered, last);
      this.#replay = fresh;
      this.#replayIndex = 0;
      if (reread.cursor <= reread.toSeq && !failed) return;
    }
    this.#rereads.shift();
    const gap: EventGap = {
      sessionId: reread.sessionId,
      fromSeq: reread.originalFrom,
      toSeq: reread.toSeq,
      missed: reread.missed,
    };
    const unrecovered = reread.missed - reread.recovered;
    // The log did not give back everything that was missed (read error, or events the reader
    // does not hold): say so rather than pretend the stream is complete.
    if (failed || (reread.exact && unrecovered > 0)) {
      this.#yieldGap({ ...gap, missed: Math.max(unrecovered, 1) });
    } else {
      this.#report(gap, true);
    }
  }

  #yieldGap(gap: EventGap): void {
    this.#gaps++;
    this.#gapItems.push({
      kind: 'gap',
      sessionId: gap.sessionId,
      fromSeq: gap.fromSeq,
      toSeq: gap.toSeq,
      missed: gap.missed,
    });
    this.#report(gap, false);
  }

  #report(gap: EventGap, recovered: boolean): void {
    try {
      this.#settings.hooks.onSubscriberOverflow?.({ subscriber: this.#settings.name, gap, recovered });
    } catch {
      // A monitoring hook's failure must not break the consumer's stream.
    }
  }

  /** Waits for an offer or close (false) or for the heartbeat interval (true). */
  #idle(): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        this.#wake = null;
        clearTimeout(timer);
        resolve(false);
      };
      const heartbeatMs = this.#settings.heartbeatMs;
      if (heartbeatMs !== null) {
        timer = setTimeout(() => {
          this.#wake = null;
          resolve(true);
        }, heartbeatMs);
        timer.unref?.();
      }
    });
  }
}

import type { AnyEvent, OrchestratorEvent } from '../../events/index.ts';

/** Where a tail gets events: the store (every process's appends) and this process's bus. */
export interface TailSource {
  read(sessionId: string, range: { fromSeq: number; limit: number }): Promise<readonly OrchestratorEvent[]>;
  lastSeq(sessionId: string): Promise<number>;
  /** Calls `onEvent` with each event this process commits to the session; returns the unsubscribe function. */
  subscribe(sessionId: string, onEvent: (event: AnyEvent) => void): () => void;
}

/** Settings of the tails. */
export interface TailSettings {
  /** Recent events each tail keeps for its readers. */
  readonly capacity: number;
  /** How often a tail reads the store for appends of other processes, in ms. */
  readonly pollMs: number;
}

/**
 * The live end of one session's log, shared by every stream reader of that session: the most
 * recent events (at most `capacity`, contiguous by sequence number) and a way to wait for more.
 *
 * It learns of new events two ways. This process's appends arrive on its bus and go straight
 * in when they continue the sequence; anything else (another process's append, an event out of
 * order) marks it dirty, and it reads the store from its last sequence number. It also reads
 * the store every `pollMs`, since other processes (a CLI run, a worker) publish nothing here.
 * Readers never block it: each keeps its own cursor, and one that falls behind the kept window
 * reads the store itself (see the pump).
 */
export class SessionTail {
  readonly sessionId: string;
  readonly #source: TailSource;
  readonly #settings: TailSettings;
  #events: AnyEvent[] = [];
  /** Sequence number of `#events[0]` (or of the next event, when empty). */
  #firstSeq = 1;
  #lastSeq = 0;
  #waiters = new Set<() => void>();
  /** Called once per turn of the event loop in which events came, and when the tail stops. */
  readonly #listeners = new Set<() => void>();
  #notifying = false;
  #reading: Promise<void> | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  /** False until the session's last sequence number was read (events offered before are read back then). */
  #known = false;
  #missedEarly = false;
  /** Resolves once the tail knows the session's last sequence number. */
  readonly ready: Promise<void>;

  constructor(sessionId: string, source: TailSource, settings: TailSettings) {
    this.sessionId = sessionId;
    this.#source = source;
    this.#settings = settings;
    // Subscribed before the last sequence number is read: nothing committed in between is missed.
    this.#unsubscribe = source.subscribe(sessionId, (event) => this.#offer(event));
    this.ready = source.lastSeq(sessionId).then((lastSeq) => {
      this.#lastSeq = lastSeq;
      this.#firstSeq = lastSeq + 1;
      this.#known = true;
      // An event published while the number was being read may be after it: read it back.
      if (this.#missedEarly) this.#poke();
      this.#schedule();
    });
  }

  /** The highest sequence number known to be committed. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** True once stopped: it learns of no more events. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Calls `listener` once per turn of the event loop in which events came (however many), and
   * once when the tail stops; returns the function that removes it. The fan-out groups use it:
   * one wake-up per group and turn, not one per client and event.
   */
  onEvents(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Up to `max` events after `seq`, from the kept window: `[]` when there is none yet, `behind`
   * when `seq + 1` already left the window (read the log instead).
   */
  since(seq: number, max: number): readonly AnyEvent[] | 'behind' {
    if (seq >= this.#lastSeq) return [];
    if (seq + 1 < this.#firstSeq) return 'behind';
    const start = seq + 1 - this.#firstSeq;
    return this.#events.slice(start, start + max);
  }

  /**
   * Resolves true once an event after `seq` is known, false after `timeoutMs` without one (or
   * when `signal` aborts).
   */
  wait(seq: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#lastSeq > seq) return Promise.resolve(true);
    if (signal?.aborted || this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', abort);
        resolve(value);
      };
      const wake = () => {
        if (this.#lastSeq > seq || this.#stopped) done(this.#lastSeq > seq);
      };
      const abort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** Stops listening and polling; waiting readers are woken. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const listener of [...this.#listeners]) listener();
    for (const wake of [...this.#waiters]) wake();
  }

  #offer(event: AnyEvent): void {
    if (!this.#known) this.#missedEarly = true;
    else if (event.seq === this.#lastSeq + 1) this.#push(event);
    else if (event.seq > this.#lastSeq) this.#poke();
  }

  #push(event: AnyEvent): void {
    if (this.#events.length === 0) this.#firstSeq = event.seq;
    this.#events.push(event);
    this.#lastSeq = event.seq;
    // Trimmed in one go past twice the capacity: amortized O(1) per event.
    const capacity = this.#settings.capacity;
    if (this.#events.length > 2 * capacity) {
      this.#events = this.#events.slice(-capacity);
      this.#firstSeq = (this.#events[0] as AnyEvent).seq;
    }
    this.#notify();
  }

  /** Wakes the waiting readers once per turn of the event loop, however many events came in it. */
  #notify(): void {
    if (this.#notifying) return;
    this.#notifying = true;
    setImmediate(() => {
      this.#notifying = false;
      if (this.#stopped) return;
      for (const listener of [...this.#listeners]) listener();
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** Reads the store from the last known sequence number (once at a time; again if poked meanwhile). */
  #poke(): void {
    this.#dirty = true;
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
  }

  async #read(): Promise<void> {
    while (this.#dirty && !this.#stopped) {
      this.#dirty = false;
      for (;;) {
        let page: readonly OrchestratorEvent[];
        try {
          page = await this.#source.read(this.sessionId, { fromSeq: this.#lastSeq + 1, limit: 1000 });
        } catch {
          // The store is unreachable for now: the next poll tries again.
          return;
        }
        const before = this.#lastSeq;
        for (const event of page) if (event.seq === this.#lastSeq + 1) this.#push(event as AnyEvent);
        if (page.length < 1000 || this.#stopped || this.#lastSeq === before) break;
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#poke();
      this.#schedule();
    }, this.#settings.pollMs);
    this.#timer.unref();
  }
}

/**
 * The tails of the sessions someone is streaming, created on the first reader and stopped with
 * the last, so a session nobody watches costs nothing.
 */
export class TailHub {
  readonly #source: TailSource;
  readonly #settings: TailSettings;
  readonly #tails = new Map<string, { tail: SessionTail; readers: number }>();

  constructor(source: TailSource, settings: TailSettings) {
    this.#source = source;
    this.#settings = settings;
  }

  /** The session's tail, for one more reader; give it back with {@link release}. */
  async acquire(sessionId: string): Promise<SessionTail> {
    let entry = this.#tails.get(sessionId);
    if (!entry) {
      entry = { tail: new SessionTail(sessionId, this.#source, this.#settings), readers: 0 };
      this.#tails.set(sessionId, entry);
    }
    entry.readers++;
    await entry.tail.ready;
    return entry.tail;
  }

  release(tail: SessionTail): void {
    const entry = this.#tails.get(tail.sessionId);
    if (!entry || entry.tail !== tail) return;
    entry.readers--;
    if (entry.readers <= 0) {
      this.#tails.delete(tail.sessionId);
      tail.stop();
    }
  }

  /** Sessions with readers now. */
  get size(): number {
    return this.#tails.size;
  }

  /** Stops every tail. */
  stop(): void {
    for (const { tail } of this.#tails.values()) tail.stop();
    this.#tails.clear();
  }
}

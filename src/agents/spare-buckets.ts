import type { TrackedProcess } from './processes.ts';
import type { AgentBinding, ProcessConfig } from './sdk-options.ts';
import type { SpareCredentials } from './spares.ts';

/** A started Claude Code process waiting for an agent, of either kind the pool keeps. */
export interface Spare {
  readonly binding: AgentBinding;
  readonly abortController: AbortController;
  readonly tracked: TrackedProcess | undefined;
  /** Its own model credentials (a gateway's spare token), bound to the agent that takes it. */
  readonly credentials?: SpareCredentials | undefined;
  /** `performance.now()` when its start began: what it knows of its folder is from then. */
  readonly startedAt: number;
  /** Settles when its process has exited. */
  readonly gone: Promise<unknown>;
}

/** How spares of one kind are started and let go. */
export interface SpareSource<S extends Spare> {
  /** Starts a spare; undefined when it could not start (agents then start cold). */
  start(config: ProcessConfig, cwd: string | undefined): Promise<S | undefined>;
  /** Closes a spare nobody took and waits until its process is gone. */
  discard(spare: S): Promise<void>;
}

/** Options of {@link SpareBuckets}. */
export interface SpareBucketsOptions {
  /** Spares kept per bucket. */
  readonly size: number;
  /** Buckets kept at once; the least recently used one is let go. */
  readonly maxBuckets: number;
  /** The longest a replacement waits for the agent that emptied the slot (see WarmPool). */
  readonly refillDelayMaxMs: number;
  /**
   * A spare older than this is closed rather than used; undefined: spares do not age. A
   * function gives each bucket's, by its folder, when the bucket is made.
   */
  readonly maxAgeMs?: number | ((cwd: string | undefined) => number | undefined) | undefined;
  /** Called when a spare of this bucket was closed for its age (not on release or close). */
  readonly onExpired?: (config: ProcessConfig, cwd: string | undefined) => void;
}

interface Parked<S> {
  readonly spare: S;
  readonly expiry: NodeJS.Timeout | undefined;
}

/** An agent waiting for a spare of its bucket that is still starting (see {@link SpareBuckets.takeSoon}). */
interface Waiter<S> {
  give(spare: S | undefined): void;
}

/** How long a taker may wait for a spare still starting, and what makes it give up sooner. */
export interface WaitForStarting {
  readonly maxWaitMs: number;
  readonly signal?: AbortSignal | undefined;
}

interface Bucket<S> {
  readonly key: string;
  readonly config: ProcessConfig;
  readonly cwd: string | undefined;
  /** See {@link SpareBucketsOptions.maxAgeMs}. */
  readonly maxAgeMs: number | undefined;
  readonly ready: Parked<S>[];
  /** Spares being started now. */
  readonly starting: Set<Promise<void>>;
  /** Takers each promised the next of `starting` to come up, first come first served. */
  readonly waiters: Waiter<S>[];
  lastUsed: number;
}

/**
 * Spares of one kind in buckets by key (a configuration, or a configuration and a folder),
 * with a least-recently-used bound on buckets, refills deferred until the taker's start-up
 * is over, an optional maximum age, and a close that leaves no process behind.
 */
export class SpareBuckets<S extends Spare> {
  readonly #source: SpareSource<S>;
  readonly #options: SpareBucketsOptions;
  readonly #buckets = new Map<string, Bucket<S>>();
  readonly #starting = new Set<Promise<void>>();
  #closed = false;
  #started = 0;
  #taken = 0;

  constructor(source: SpareSource<S>, options: SpareBucketsOptions) {
    this.#source = source;
    this.#options = options;
  }

  /** Spares parked now, over every bucket. */
  get parked(): number {
    let count = 0;
    for (const bucket of this.#buckets.values()) count += bucket.ready.length;
    return count;
  }

  /** Spares parked or starting now, over every bucket. */
  get live(): number {
    let count = 0;
    for (const bucket of this.#buckets.values()) count += bucket.ready.length + bucket.starting.size;
    return count;
  }

  /** Spares that were started and parked, and spares taken by agents, since this was made. */
  get counts(): { readonly started: number; readonly taken: number } {
    return { started: this.#started, taken: this.#taken };
  }

  /** Spares of one bucket parked or starting now. */
  have(key: string): number {
    const bucket = this.#buckets.get(key);
    return bucket ? bucket.ready.length + bucket.starting.size : 0;
  }

  /**
   * Starts `count` more spares of a bucket now, whatever its size (the graph-aware warm start
   * decides the numbers itself); the bucket is created when it is new.
   */
  startMore(key: string, config: ProcessConfig, cwd: string | undefined, count: number): void {
    if (this.#closed || count <= 0) return;
    const bucket = this.#bucket(key, config, cwd);
    for (let i = 0; i < count; i++) this.#startOne(bucket);
  }

  /** Closes the spares of one bucket and forgets it; those still starting are closed once up. */
  async releaseKey(key: string): Promise<void> {
    const bucket = this.#buckets.get(key);
    if (!bucket) return;
    this.#buckets.delete(key);
    await Promise.all(this.#drain(bucket).map((spare) => this.#source.discard(spare)));
  }

  /**
   * Takes a parked spare of a bucket, creating the bucket (as most recently used) when it is
   * new; a spare past the maximum age is closed on the way. Undefined when none is ready.
   */
  take(key: string, config: ProcessConfig, cwd: string | undefined): S | undefined {
    if (this.#closed) return undefined;
    return this.#shift(this.#bucket(key, config, cwd));
  }

  /** Takes a parked spare of an existing bucket only; a missing bucket stays missing. */
  takeExisting(key: string): S | undefined {
    const bucket = this.#buckets.get(key);
    if (this.#closed || !bucket) return undefined;
    bucket.lastUsed = performance.now();
    return this.#shift(bucket);
  }

  /**
   * Like {@link take}, but when no spare is parked and one is starting that no other taker
   * waits for already, waits for it (at most `wait.maxWaitMs`, and not past `wait.signal`):
   * a spare part way through its start-up serves sooner than a cold start begun now, and
   * starting both would burn two start-ups' CPU on a small machine (the demo's two coders
   * started cold 1.3-1.4 s each while the spares started for them came up beside them).
   * Undefined when there is none to wait for, or it did not come: the agent starts cold.
   */
  takeSoon(key: string, config: ProcessConfig, cwd: string | undefined, wait: WaitForStarting): Promise<S | undefined> {
    const now = this.take(key, config, cwd);
    return now ? Promise.resolve(now) : this.#waitFor(this.#buckets.get(key), wait);
  }

  /** {@link takeExisting}, waiting like {@link takeSoon}. */
  takeExistingSoon(key: string, wait: WaitForStarting): Promise<S | undefined> {
    const now = this.takeExisting(key);
    return now ? Promise.resolve(now) : this.#waitFor(this.#buckets.get(key), wait);
  }

  /** Parks a spare handed out by {@link takeSoon} again: its taker was stopped before using it. */
  giveBack(key: string, spare: S): void {
    const bucket = this.#buckets.get(key);
    if (this.#closed || !bucket) {
      void this.#source.discard(spare);
      return;
    }
    this.#taken--;
    this.#park(bucket, spare);
  }

  /**
   * Refills a bucket once `startedUp` settles (the taker's first model answer, or its end) or
   * after `refillDelayMaxMs`, whichever comes first.
   */
  refillAfter(key: string, startedUp: Promise<unknown>): void {
    const bucket = this.#buckets.get(key);
    if (!bucket) return;
    let done = false;
    const refill = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A bucket evicted or released meanwhile must not come back through a late refill.
      if (this.#buckets.get(key) === bucket) this.#refill(bucket);
    };
    const timer = setTimeout(refill, this.#options.refillDelayMaxMs);
    timer.unref();
    void startedUp.then(refill, refill);
  }

  /** Starts spares of a bucket up to the size now; resolves once they are parked (or failed). */
  async fill(key: string, config: ProcessConfig, cwd: string | undefined): Promise<void> {
    if (this.#closed) return;
    const bucket = this.#bucket(key, config, cwd);
    this.#refill(bucket);
    await Promise.all(bucket.starting);
  }

  /** Closes the spares of every bucket whose folder matches, and forgets those buckets. */
  async release(matches: (cwd: string | undefined) => boolean): Promise<void> {
    const spares: S[] = [];
    for (const [key, bucket] of this.#buckets) {
      if (!matches(bucket.cwd)) continue;
      this.#buckets.delete(key);
      spares.push(...this.#drain(bucket));
    }
    await Promise.all(spares.map((spare) => this.#source.discard(spare)));
  }

  /** Closes every spare and waits for their processes to exit. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#starting]);
    const spares = [...this.#buckets.values()].flatMap((bucket) => this.#drain(bucket));
    this.#buckets.clear();
    await Promise.all(spares.map((spare) => this.#source.discard(spare)));
  }

  #shift(bucket: Bucket<S>): S | undefined {
    for (;;) {
      const parked = bucket.ready.shift();
      if (!parked) return undefined;
      clearTimeout(parked.expiry);
      if (!this.#tooOld(bucket, parked.spare)) {
        this.#taken++;
        return parked.spare;
      }
      // Its timer has not fired yet (a busy event loop): the age decides, not the timer.
      void this.#source.discard(parked.spare);
      this.#options.onExpired?.(bucket.config, bucket.cwd);
    }
  }

  #waitFor(bucket: Bucket<S> | undefined, wait: WaitForStarting): Promise<S | undefined> {
    if (this.#closed || !bucket || bucket.starting.size <= bucket.waiters.length || wait.signal?.aborted) {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const settle = (spare: S | undefined) => {
        clearTimeout(timer);
        wait.signal?.removeEventListener('abort', giveUp);
        resolve(spare);
      };
      const waiter: Waiter<S> = { give: settle };
      const giveUp = () => {
        const index = bucket.waiters.indexOf(waiter);
        if (index >= 0) bucket.waiters.splice(index, 1);
        settle(undefined);
      };
      const timer = setTimeout(giveUp, wait.maxWaitMs);
      timer.unref();
      wait.signal?.addEventListener('abort', giveUp, { once: true });
      bucket.waiters.push(waiter);
    });
  }

  #tooOld(bucket: Bucket<S>, spare: S): boolean {
    const max = bucket.maxAgeMs;
    return max !== undefined && performance.now() - spare.startedAt > max;
  }

  #drain(bucket: Bucket<S>): S[] {
    for (const waiter of bucket.waiters.splice(0)) waiter.give(undefined);
    return bucket.ready.splice(0).map((parked) => {
      clearTimeout(parked.expiry);
      return parked.spare;
    });
  }

  #bucket(key: string, config: ProcessConfig, cwd: string | undefined): Bucket<S> {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.lastUsed = performance.now();
      return bucket;
    }
    const maxAge = this.#options.maxAgeMs;
    bucket = {
      key,
      config,
      cwd,
      maxAgeMs: typeof maxAge === 'function' ? maxAge(cwd) : maxAge,
      ready: [],
      starting: new Set(),
      waiters: [],
      lastUsed: performance.now(),
    };
    this.#buckets.set(key, bucket);
    this.#evict();
    return bucket;
  }

  #evict(): void {
    while (this.#buckets.size > this.#options.maxBuckets) {
      const [key, oldest] = [...this.#buckets.entries()].reduce((a, b) => (b[1].lastUsed < a[1].lastUsed ? b : a));
      this.#buckets.delete(key);
      for (const spare of this.#drain(oldest)) void this.#source.discard(spare);
    }
  }

  #refill(bucket: Bucket<S>): void {
    while (!this.#closed && bucket.ready.length + bucket.starting.size < this.#options.size) this.#startOne(bucket);
  }

  #startOne(bucket: Bucket<S>): void {
    const start: Promise<void> = this.#start(bucket).finally(() => {
      bucket.starting.delete(start);
      this.#starting.delete(start);
    });
    bucket.starting.add(start);
    this.#starting.add(start);
  }

  async #start(bucket: Bucket<S>): Promise<void> {
    // Nobody awaits a refill: a spare that cannot start only means a cold start later.
    const spare = await this.#source.start(bucket.config, bucket.cwd).catch(() => undefined);
    if (!spare) {
      // Takers promised a start that failed: as many as the other starts cannot serve go cold.
      while (bucket.waiters.length > bucket.starting.size - 1) bucket.waiters.pop()?.give(undefined);
      return;
    }
    this.#started++;
    // A bucket evicted or released, or a pool closed, while this spare started has no use for it.
    if (this.#closed || this.#buckets.get(bucket.key) !== bucket) {
      await this.#source.discard(spare);
      return;
    }
    const waiter = bucket.waiters.shift();
    if (waiter) {
      this.#taken++;
      waiter.give(spare);
      return;
    }
    this.#park(bucket, spare);
  }

  #park(bucket: Bucket<S>, spare: S): void {
    const maxAge = bucket.maxAgeMs;
    const expiry =
      maxAge === undefined
        ? undefined
        : setTimeout(() => this.#expire(bucket, spare), Math.max(0, spare.startedAt + maxAge - performance.now()));
    expiry?.unref();
    const parked: Parked<S> = { spare, expiry };
    bucket.ready.push(parked);
    // A spare whose process died while parked is no spare: forget it.
    void spare.gone.then(() => {
      const index = bucket.ready.indexOf(parked);
      if (index >= 0) {
        bucket.ready.splice(index, 1);
        clearTimeout(parked.expiry);
        spare.credentials?.release();
      }
    });
  }

  #expire(bucket: Bucket<S>, spare: S): void {
    const index = bucket.ready.findIndex((parked) => parked.spare === spare);
    if (index < 0) return;
    bucket.ready.splice(index, 1);
    void this.#source.discard(spare);
    if (!this.#closed && this.#buckets.get(bucket.key) === bucket) this.#options.onExpired?.(bucket.config, bucket.cwd);
  }
}

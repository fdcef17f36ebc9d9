import { createHash } from 'node:crypto';
import {
  applyLearned,
  type Buckets,
  bucketsOf,
  costDifference,
  DEFAULT_BURST_MS,
  giveBack,
  hasLearned,
  type Learned,
  learnedOf,
  mayTeach,
  pickNext,
  type RateCost,
  type RateLimits,
  take,
  type Waiter,
} from './rate-plan.ts';
import type { PauseGate } from './retry.ts';

/**
 * Rate limits shared by all agents of one upstream key: the buckets live behind a
 * {@link RateLimitStore}; a {@link RateLimiter} holds the fair queue of requests that do not
 * fit yet and releases them as the buckets (and the shared {@link PauseGate}) allow.
 *
 * Cycle: `acquire` queues a request → the pump picks the next waiter (`pickNext`: priority,
 * then round-robin by session, FIFO within one) → `store.take` says go, or how long to wait →
 * a single timer wakes the pump then. Responses feed `learn` (their `anthropic-ratelimit-*`
 * headers) and `settle` gives back what a request took beyond what it used; both wake the pump.
 * The head of the queue is never overtaken by a smaller request behind it, so a large request
 * cannot starve.
 */

/** What `take` answers: go, or wait at least this long before asking again. */
export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly waitMs: number };

/**
 * Where the buckets of upstream keys live. In memory for one process
 * ({@link MemoryRateLimitStore}); a Redis store will implement the same three operations (each
 * an atomic script over one hash per key: refill, compare, subtract) so that several workers
 * share one key's limits. The store holds buckets only: the fair queue stays in each process
 * (fairness is per worker), and the pause after a 429 is the {@link PauseGate}'s.
 * Deliberately left out: reservations that expire on their own (a worker that dies with
 * requests in flight leaves its take in the buckets; they refill within a minute anyway).
 */
export interface RateLimitStore {
  /** Takes `cost` from the key's buckets if all hold enough, else takes nothing and says how long to wait. */
  take(key: string, cost: RateCost, now: number): Promise<TakeResult>;
  /** Gives `cost` back (a negative amount charges more, without waiting). */
  refund(key: string, cost: RateCost, now: number): Promise<void>;
  /** Tightens the key's buckets with what an upstream response reported. */
  learn(key: string, learned: Learned, now: number): Promise<void>;
  /**
   * `take`, answered at once. A store in this process's memory offers it, and the limiter then
   * lets a request through with no queue entry and no promise when nobody is waiting (the
   * common case, on the path to the first byte). A shared store leaves it out. @default absent
   */
  takeNow?(key: string, cost: RateCost, now: number): TakeResult;
  /** `refund`, done at once (see {@link takeNow}). @default absent */
  refundNow?(key: string, cost: RateCost, now: number): void;
}

/** Options of {@link MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /** Configured limits per minute; an absent kind is unlimited until learned. @default none */
  readonly limits?: RateLimits;
  /** How much of a minute's limit a bucket holds at most. @default 1000 */
  readonly burstMs?: number;
}

/** The buckets of every key in this process's memory. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #limits: RateLimits;
  readonly #burstMs: number;
  readonly #buckets = new Map<string, Buckets>();

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.#limits = options.limits ?? {};
    this.#burstMs = options.burstMs ?? DEFAULT_BURST_MS;
  }

  #of(key: string, now: number): Buckets {
    let buckets = this.#buckets.get(key);
    if (!buckets) {
      buckets = bucketsOf(this.#limits, now, this.#burstMs);
      this.#buckets.set(key, buckets);
    }
    return buckets;
  }

  async take(key: string, cost: RateCost, now: number): Promise<TakeResult> {
    return this.takeNow(key, cost, now);
  }

  async refund(key: string, cost: RateCost, now: number): Promise<void> {
    this.refundNow(key, cost, now);
  }

  takeNow(key: string, cost: RateCost, now: number): TakeResult {
    const buckets = this.#of(key, now);
    if (isEmpty(buckets)) return GO;
    const decision = take(buckets, cost, now);
    this.#buckets.set(key, decision.buckets);
    return decision.ok ? GO : { ok: false, waitMs: decision.waitMs };
  }

  refundNow(key: string, cost: RateCost, now: number): void {
    const buckets = this.#of(key, now);
    if (!isEmpty(buckets)) this.#buckets.set(key, giveBack(buckets, cost, now));
  }

  async learn(key: string, learned: Learned, now: number): Promise<void> {
    this.#buckets.set(key, applyLearned(this.#of(key, now), learned, this.#limits, now, this.#burstMs));
  }

  /** The buckets of a key as they are now (for tests and diagnosis). */
  snapshot(key: string): Buckets | undefined {
    return this.#buckets.get(key);
  }
}

const GO: TakeResult = Object.freeze({ ok: true });

/** No bucket at all: nothing configured, nothing learned, every request goes. */
function isEmpty(buckets: Buckets): boolean {
  for (const _kind in buckets) return false;
  return true;
}

/** The store key of an upstream key: a digest, so that the key itself is never a store's key. */
export function rateKeyOf(apiKey: string): string {
  return `ratelimit:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;
}

/** A request let through: what it took, and how long it waited. */
export interface RateTicket {
  readonly cost: RateCost;
  readonly queuedMs: number;
}

/** What a request asks of the limiter. */
export interface RateRequest {
  readonly sessionId: string;
  /** Higher goes first. @default 0 */
  readonly priority?: number | undefined;
  readonly cost: RateCost;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  readonly store: RateLimitStore;
  /** The store key of the upstream key ({@link rateKeyOf}). */
  readonly key: string;
  /** The shared pause after a 429/529 with `retry-after`: nothing leaves the queue while it holds. */
  readonly gate: PauseGate;
  /** @default Date.now */
  readonly now?: () => number;
  /** Where store failures go (a failing store lets requests through rather than holding them). */
  readonly warn?: (message: string, details?: Record<string, unknown>) => void;
}

interface Entry extends Waiter {
  readonly cost: RateCost;
  readonly since: number;
  readonly resolve: (ticket: RateTicket | undefined) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

const MAX_REMEMBERED_SESSIONS = 10_000;

/** The fair queue in front of one upstream key's buckets. */
export class RateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #now: () => number;
  #queue: Entry[] = [];
  readonly #lastServed = new Map<string, number>();
  #seq = 0;
  #served = 0;
  #pumping = false;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RateLimiterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Requests waiting now. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Lets the request through at once when nobody waits, nothing pauses the key, and the store
   * answers at once that it fits; else undefined (then {@link acquire} queues it). Never
   * overtakes a waiting request.
   */
  tryAcquire(request: RateRequest): RateTicket | undefined {
    const { store, gate, key } = this.#options;
    if (this.#closed || this.#queue.length > 0 || this.#pumping || !store.takeNow) return undefined;
    if (gate.remainingMs() > 0) return undefined;
    let result: TakeResult;
    try {
      result = store.takeNow(key, request.cost, this.#now());
    } catch {
      return undefined; // `acquire` asks again and reports the failure
    }
    if (!result.ok) return undefined;
    if (this.#lastServed.size > MAX_REMEMBERED_SESSIONS) this.#lastServed.clear();
    this.#lastServed.set(request.sessionId, this.#served++);
    return { cost: request.cost, queuedMs: 0 };
  }

  /**
   * Resolves when the request may be forwarded (never rejects, never refuses for lack of
   * tokens); with undefined when `signal` aborted first (the agent went away: it left the
   * queue and took nothing) or the limiter closed.
   */
  acquire(request: RateRequest, signal: AbortSignal): Promise<RateTicket | undefined> {
    if (signal.aborted || this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#queue = this.#queue.filter((entry) => entry !== waiter);
        resolve(undefined);
      };
      const waiter: Entry = {
        seq: this.#seq++,
        sessionId: request.sessionId,
        priority: request.priority ?? 0,
        cost: request.cost,
        since: this.#now(),
        resolve,
        signal,
        onAbort,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** A request ended having used `used`: what it took beyond that goes back (or more is charged). */
  settle(ticket: RateTicket, used: RateCost): void {
    const { store, key } = this.#options;
    const back = costDifference(ticket.cost, used);
    if (!store.refundNow) {
      this.#call(store.refund(key, back, this.#now()));
      return;
    }
    try {
      store.refundNow(key, back, this.#now());
    } catch (error) {
      this.#options.warn?.('gateway: the rate-limit store failed', { error: String(error) });
    }
    if (this.#queue.length > 0) this.#pump();
  }

  /**
   * Learns from an upstream response's headers (no-op without `anthropic-ratelimit-*`). The
   * reading and the store's update run after the current I/O, off the path to the first byte.
   */
  learn(headers: Readonly<Record<string, string | string[] | undefined>>): void {
    if (!mayTeach(headers)) return;
    const now = this.#now();
    setImmediate(() => {
      const learned = learnedOf(headers);
      if (hasLearned(learned)) this.#call(this.#options.store.learn(this.#options.key, learned, now));
    });
  }

  /** Lets every waiter go (with undefined) and stops the timer. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const entry of this.#queue.splice(0)) {
      entry.signal.removeEventListener('abort', entry.onAbort);
      entry.resolve(undefined);
    }
  }

  #call(operation: Promise<void>): void {
    operation.then(
      () => this.#pump(),
      (error: unknown) => this.#options.warn?.('gateway: the rate-limit store failed', { error: String(error) }),
    );
  }

  #wake(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, ms));
    this.#timer.unref?.();
  }

  #pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    this.#drain()
      .catch((error: unknown) => this.#options.warn?.('gateway: the rate-limit queue failed', { error: String(error) }))
      .finally(() => {
        this.#pumping = false;
        if (this.#again) {
          this.#again = false;
          this.#pump();
        }
      });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      this.#again = false;
      const paused = this.#options.gate.remainingMs();
      if (paused > 0) return this.#wake(paused);
      const next = pickNext(this.#queue, this.#lastServed);
      if (!next) return;
      let result: TakeResult;
      try {
        result = await this.#options.store.take(this.#options.key, next.cost, this.#now());
      } catch (error) {
        this.#options.warn?.('gateway: the rate-limit store failed; a request goes unlimited', {
          error: String(error),
        });
        result = { ok: true };
      }
      if (!this.#queue.includes(next)) {
        // It left (its agent went away) while the store answered: give back what it took.
        if (result.ok) this.#call(this.#options.store.refund(this.#options.key, next.cost, this.#now()));
        continue;
      }
      if (!result.ok) {
        // A newcomer or a refund may have changed things while the store answered: look again first.
        if (this.#again) continue;
        return this.#wake(result.waitMs);
      }
      this.#queue = this.#queue.filter((entry) => entry !== next);
      this.#lastServed.set(next.sessionId, this.#served++);
      next.signal.removeEventListener('abort', next.onAbort);
      next.resolve({ cost: next.cost, queuedMs: Math.max(0, this.#now() - next.since) });
    }
    // Who was served last matters across a momentarily empty queue (an agent sends its next
    // request when the last one ends), so it is kept; forgotten only when the map grows large.
    if (this.#queue.length === 0 && this.#lastServed.size > MAX_REMEMBERED_SESSIONS) this.#lastServed.clear();
  }
}

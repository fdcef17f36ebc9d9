/**
 * The gateway's rate-limit decisions, as pure functions over plain data: token buckets (refill
 * over time, take, give back), what Anthropic's `anthropic-ratelimit-*` headers teach, and which
 * waiting request goes next (fair across sessions). Time is always passed in (epoch ms), so
 * every decision is unit-tested without clocks or sockets; `rate-limits.ts` owns the state, the
 * queue and the timers.
 *
 * Model: one bucket per kind and upstream key, refilled continuously at its limit per minute,
 * holding at most `burstMs` of it (Anthropic enforces e.g. 60 RPM as about one request a
 * second, so a full minute's burst would be answered with 429s). A request whose cost exceeds
 * a bucket's capacity goes when the bucket is full and leaves it in debt: it is never refused,
 * and the debt is paid back at the bucket's rate before anything else goes.
 */

/** What a bucket counts: requests, input tokens, output tokens, or both kinds of tokens together (learned only). */
export type RateKind = 'requests' | 'inputTokens' | 'outputTokens' | 'tokens';

/** Every kind, in a fixed order. */
export const RATE_KINDS: readonly RateKind[] = ['requests', 'inputTokens', 'outputTokens', 'tokens'];

/** What a request takes from each bucket. */
export type RateCost = Readonly<Record<RateKind, number>>;

/** Limits per minute, per kind; an absent kind is unlimited (until learned). */
export type RateLimits = Readonly<Partial<Record<RateKind, number>>>;

/** One token bucket. */
export interface Bucket {
  /** The limit per minute it refills at. */
  readonly perMinute: number;
  /** Most it holds: `perMinute` over the burst window. */
  readonly capacity: number;
  /** What it holds now; negative while in debt. */
  readonly tokens: number;
  /** When `tokens` was computed (epoch ms). */
  readonly at: number;
}

/** The buckets of one upstream key. */
export type Buckets = Readonly<Partial<Record<RateKind, Bucket>>>;

/** One limit as an upstream reported it. */
export interface LearnedLimit {
  readonly limit: number;
  readonly remaining?: number | undefined;
  /** When the upstream's bucket is full again (epoch ms). */
  readonly resetAt?: number | undefined;
}

/** What one response's headers taught. */
export type Learned = Readonly<Partial<Record<RateKind, LearnedLimit>>>;

/** Whether a request may go now. */
export type TakeDecision =
  | { readonly ok: true; readonly buckets: Buckets }
  | { readonly ok: false; readonly waitMs: number; readonly buckets: Buckets };

/** The burst window of a bucket. @default 1000 */
export const DEFAULT_BURST_MS = 1000;

const MINUTE_MS = 60_000;
const EPSILON = 1e-9;

/** A request's cost: one request, its input estimate, its `max_tokens` as forwarded. */
export function costOf(inputTokens: number, outputTokens: number, requests = 1): RateCost {
  return { requests, inputTokens, outputTokens, tokens: inputTokens + outputTokens };
}

/** `a - b`, kind by kind (what to give back when a request used less than it took). */
export function costDifference(a: RateCost, b: RateCost): RateCost {
  return costOf(a.inputTokens - b.inputTokens, a.outputTokens - b.outputTokens, a.requests - b.requests);
}

/** A full bucket for a limit per minute. */
export function bucketOf(perMinute: number, now: number, burstMs = DEFAULT_BURST_MS): Bucket {
  const capacity = (perMinute * burstMs) / MINUTE_MS;
  return { perMinute, capacity, tokens: capacity, at: now };
}

/** The bucket at `now`: refilled at its rate since it was last computed, never above capacity. */
export function refill(bucket: Bucket, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.at);
  const tokens = Math.min(bucket.capacity, bucket.tokens + (elapsed * bucket.perMinute) / MINUTE_MS);
  return { ...bucket, tokens, at: Math.max(now, bucket.at) };
}

/** Buckets for configured limits (all full). */
export function bucketsOf(limits: RateLimits, now: number, burstMs = DEFAULT_BURST_MS): Buckets {
  const out: Partial<Record<RateKind, Bucket>> = {};
  for (const kind of RATE_KINDS) {
    const limit = limits[kind];
    if (limit !== undefined && limit > 0) out[kind] = bucketOf(limit, now, burstMs);
  }
  return out;
}

/**
 * Takes `cost` from every bucket if each holds enough (a cost above capacity needs a full
 * bucket); else takes nothing and says how long until all of them would.
 */
export function take(buckets: Buckets, cost: RateCost, now: number): TakeDecision {
  const refilled: Partial<Record<RateKind, Bucket>> = {};
  let waitMs = 0;
  for (const kind of RATE_KINDS) {
    const bucket = buckets[kind];
    if (!bucket) continue;
    const current = refill(bucket, now);
    refilled[kind] = current;
    const need = Math.min(cost[kind], current.capacity);
    if (current.tokens + EPSILON < need) {
      waitMs = Math.max(waitMs, Math.ceil(((need - current.tokens) * MINUTE_MS) / current.perMinute));
    }
  }
  if (waitMs > 0) return { ok: false, waitMs, buckets: refilled };
  for (const kind of RATE_KINDS) {
    const bucket = refilled[kind];
    if (bucket) refilled[kind] = { ...bucket, tokens: bucket.tokens - cost[kind] };
  }
  return { ok: true, buckets: refilled };
}

/** Gives `cost` back (a negative amount charges more, without waiting), never above capacity. */
export function giveBack(buckets: Buckets, cost: RateCost, now: number): Buckets {
  const out: Partial<Record<RateKind, Bucket>> = {};
  for (const kind of RATE_KINDS) {
    const bucket = buckets[kind];
    if (!bucket) continue;
    const current = refill(bucket, now);
    out[kind] = { ...current, tokens: Math.min(current.capacity, current.tokens + cost[kind]) };
  }
  return out;
}

const HEADER_KINDS: readonly (readonly [RateKind, string, string, string])[] = (
  [
    ['requests', 'requests'],
    ['input-tokens', 'inputTokens'],
    ['output-tokens', 'outputTokens'],
    ['tokens', 'tokens'],
  ] as const
).map(([name, kind]) => {
  const prefix = `anthropic-ratelimit-${name}-`;
  return [kind, `${prefix}limit`, `${prefix}remaining`, `${prefix}reset`] as const;
});

type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

function headerNumber(headers: HeaderBag, name: string): number | undefined {
  const raw = headers[name];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

function headerTime(headers: HeaderBag, name: string): number | undefined {
  const raw = headers[name];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * The limits an Anthropic response reports: `anthropic-ratelimit-<kind>-limit`, `-remaining`
 * and `-reset` (RFC 3339) for `requests`, `input-tokens`, `output-tokens` and `tokens`
 * (the most restrictive of the token limits). A kind without a readable `-limit` is skipped.
 */
export function learnedOf(headers: HeaderBag): Learned {
  const out: Partial<Record<RateKind, LearnedLimit>> = {};
  for (const [kind, limitName, remainingName, resetName] of HEADER_KINDS) {
    const limit = headerNumber(headers, limitName);
    if (limit === undefined || limit === 0) continue;
    out[kind] = {
      limit,
      remaining: headerNumber(headers, remainingName),
      resetAt: headerTime(headers, resetName),
    };
  }
  return out;
}

/** Whether a response's headers may teach anything (a cheap look for any `-limit` header). */
export function mayTeach(headers: HeaderBag): boolean {
  for (const [, limitName] of HEADER_KINDS) if (headers[limitName] !== undefined) return true;
  return false;
}

/** Whether a response taught anything. */
export function hasLearned(learned: Learned): boolean {
  return RATE_KINDS.some((kind) => learned[kind] !== undefined);
}

/**
 * The buckets after learning: each learned kind refills at the tighter of its configured and
 * learned limit, and holds no more than the upstream says remain (the upstream's count is the
 * truth, ours may have missed other clients of the key). `reset` adds nothing to a continuous
 * refill at the limit's rate, so it is kept for diagnosis only.
 */
export function applyLearned(
  buckets: Buckets,
  learned: Learned,
  configured: RateLimits,
  now: number,
  burstMs = DEFAULT_BURST_MS,
): Buckets {
  const out: Partial<Record<RateKind, Bucket>> = { ...buckets };
  for (const kind of RATE_KINDS) {
    const seen = learned[kind];
    if (!seen) continue;
    const perMinute = Math.min(configured[kind] ?? Number.POSITIVE_INFINITY, seen.limit);
    const existing = buckets[kind];
    const fresh = bucketOf(perMinute, now, burstMs);
    let tokens = existing ? Math.min(refill(existing, now).tokens, fresh.capacity) : fresh.capacity;
    if (seen.remaining !== undefined) tokens = Math.min(tokens, seen.remaining);
    out[kind] = { ...fresh, tokens };
  }
  return out;
}

/** A request waiting for the buckets. */
export interface Waiter {
  /** Arrival order (increasing). */
  readonly seq: number;
  readonly sessionId: string;
  /** Higher goes first. @default 0 */
  readonly priority: number;
}

/**
 * The waiter to serve next: the highest priority waiting; among those, round-robin across
 * sessions (the session served least recently, by `lastServed` serials; a session never served
 * comes first), and first come first served within a session. `waiters` is in arrival order.
 */
export function pickNext<W extends Waiter>(
  waiters: readonly W[],
  lastServed: ReadonlyMap<string, number>,
): W | undefined {
  let top = Number.NEGATIVE_INFINITY;
  for (const waiter of waiters) top = Math.max(top, waiter.priority);
  const heads = new Map<string, W>();
  for (const waiter of waiters) {
    if (waiter.priority === top && !heads.has(waiter.sessionId)) heads.set(waiter.sessionId, waiter);
  }
  let best: W | undefined;
  let bestServed = Number.POSITIVE_INFINITY;
  for (const head of heads.values()) {
    const served = lastServed.get(head.sessionId) ?? Number.NEGATIVE_INFINITY;
    if (best === undefined || served < bestServed || (served === bestServed && head.seq < best.seq)) {
      best = head;
      bestServed = served;
    }
  }
  return best;
}

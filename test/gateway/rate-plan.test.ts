import { describe, expect, it } from 'vitest';
import {
  applyLearned,
  bucketOf,
  bucketsOf,
  costOf,
  giveBack,
  learnedOf,
  MemoryRateLimitStore,
  PauseGate,
  pickNext,
  RateLimiter,
  refill,
  take,
  type Waiter,
} from '../../src/gateway/index.ts';

// The rate-limit decisions over plain data and injected time: buckets, learning, fairness.

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('token buckets', () => {
  it('refill at their limit per minute over injected time, never above capacity', () => {
    const bucket = { ...bucketOf(60, T0), tokens: 0 };
    expect(bucket.capacity).toBe(1);
    expect(refill(bucket, T0 + 500).tokens).toBeCloseTo(0.5);
    expect(refill(bucket, T0 + 60_000).tokens).toBe(1);
    // Time going backwards refills nothing.
    expect(refill(bucket, T0 - 1000).tokens).toBe(0);
  });

  it('let a request through when every bucket holds enough, else say how long to wait', () => {
    const buckets = bucketsOf({ requests: 60, outputTokens: 6000 }, T0);
    const first = take(buckets, costOf(100, 50), T0);
    expect(first.ok).toBe(true);
    const second = take(first.buckets, costOf(100, 50), T0);
    expect(second).toMatchObject({ ok: false, waitMs: 1000 });
    // Nothing was taken by the refusal: a second later it fits.
    expect(take(second.buckets, costOf(100, 50), T0 + 1000).ok).toBe(true);
  });

  it('let a request larger than the capacity go from a full bucket, leaving a debt paid back at the rate', () => {
    const buckets = bucketsOf({ outputTokens: 6000 }, T0); // 100 a second
    const big = take(buckets, costOf(0, 4100), T0);
    expect(big.ok).toBe(true);
    expect(big.buckets.outputTokens?.tokens).toBe(-4000);
    expect(take(big.buckets, costOf(0, 10), T0)).toMatchObject({ ok: false, waitMs: 40_100 });
  });

  it('give back what a request took beyond what it used, up to the capacity', () => {
    const taken = take(bucketsOf({ outputTokens: 6000 }, T0), costOf(0, 100), T0);
    const back = giveBack(taken.buckets, costOf(0, 80), T0);
    expect(back.outputTokens?.tokens).toBe(80);
    expect(giveBack(back, costOf(0, 1000), T0).outputTokens?.tokens).toBe(100);
    // A negative amount charges what was used beyond the take.
    expect(giveBack(back, costOf(0, -200), T0).outputTokens?.tokens).toBe(-120);
  });

  it('leave unconfigured kinds unlimited', () => {
    let buckets = bucketsOf({}, T0);
    for (let i = 0; i < 1000; i++) {
      const decision = take(buckets, costOf(1e6, 1e6), T0);
      expect(decision.ok).toBe(true);
      buckets = decision.buckets;
    }
  });
});

describe('learning from headers', () => {
  const headers = {
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:01Z',
    'anthropic-ratelimit-input-tokens-limit': '30000',
    'anthropic-ratelimit-input-tokens-remaining': '29000',
    'anthropic-ratelimit-input-tokens-reset': '2026-01-01T00:00:02Z',
    'anthropic-ratelimit-output-tokens-limit': '8000',
    'anthropic-ratelimit-tokens-limit': 'not a number',
  };

  it('reads limit, remaining and reset (RFC 3339) per kind, skipping unreadable ones', () => {
    expect(learnedOf(headers)).toEqual({
      requests: { limit: 50, remaining: 0, resetAt: T0 + 1000 },
      inputTokens: { limit: 30_000, remaining: 29_000, resetAt: T0 + 2000 },
      outputTokens: { limit: 8000, remaining: undefined, resetAt: undefined },
    });
    expect(learnedOf({ 'content-type': 'text/event-stream' })).toEqual({});
  });

  it('takes the tighter of configured and learned, and no more than remains upstream', () => {
    const configured = { requests: 120, outputTokens: 6000 };
    const buckets = applyLearned(bucketsOf(configured, T0), learnedOf(headers), configured, T0);
    expect(buckets.requests).toMatchObject({ perMinute: 50, tokens: 0 });
    expect(buckets.outputTokens).toMatchObject({ perMinute: 6000, capacity: 100, tokens: 100 });
    expect(buckets.inputTokens).toMatchObject({ perMinute: 30_000, tokens: 500 });
    // Learned limits slow the next request down: nothing remained of the requests.
    expect(take(buckets, costOf(10, 10), T0)).toMatchObject({ ok: false, waitMs: 1000 });
  });
});

describe('the fair queue', () => {
  function drain(waiters: Waiter[]): string[] {
    const order: string[] = [];
    const lastServed = new Map<string, number>();
    let queue = [...waiters];
    for (let served = 0; queue.length > 0; served++) {
      const next = pickNext(queue, lastServed);
      if (!next) break;
      order.push(`${next.sessionId}${next.seq}`);
      lastServed.set(next.sessionId, served);
      queue = queue.filter((w) => w !== next);
    }
    return order;
  }

  it("does not put session B's 2 requests behind all 20 of session A's", () => {
    const waiters: Waiter[] = [];
    for (let i = 0; i < 20; i++) waiters.push({ seq: i, sessionId: 'A', priority: 0 });
    waiters.push({ seq: 20, sessionId: 'B', priority: 0 }, { seq: 21, sessionId: 'B', priority: 0 });
    const order = drain(waiters);
    expect(order.slice(0, 4)).toEqual(['A0', 'B20', 'A1', 'B21']);
    // Within a session, first come first served.
    expect(order.filter((o) => o.startsWith('A'))).toEqual(Array.from({ length: 20 }, (_, i) => `A${i}`));
  });

  it('serves a higher priority first, round-robin within it', () => {
    const order = drain([
      { seq: 0, sessionId: 'A', priority: 0 },
      { seq: 1, sessionId: 'B', priority: 1 },
      { seq: 2, sessionId: 'C', priority: 1 },
      { seq: 3, sessionId: 'B', priority: 1 },
    ]);
    expect(order).toEqual(['B1', 'C2', 'B3', 'A0']);
  });
});

describe('RateLimiter', () => {
  it('lets waiting requests go by priority as the bucket refills, on a fake clock', async () => {
    let now = T0;
    const limiter = new RateLimiter({
      store: new MemoryRateLimitStore({ limits: { requests: 60 } }), // one a second, burst 1
      key: 'k',
      gate: new PauseGate(),
      now: () => now,
    });
    const order: string[] = [];
    const ask = (sessionId: string, priority: number) =>
      limiter
        .acquire({ sessionId, priority, cost: costOf(1, 1) }, new AbortController().signal)
        .then((ticket) => order.push(`${sessionId}@${ticket?.queuedMs}`));
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    const all = [ask('first', 0)];
    await tick();
    all.push(ask('low', -1), ask('normal', 0), ask('high', 5), ask('alsoHigh', 5));
    for (let second = 1; second <= 4; second++) {
      await tick();
      now = T0 + second * 1000;
      // The limiter's own timer would wake it; the fake clock moved, so a refund wakes it now.
      limiter.settle({ cost: costOf(0, 0, 0), queuedMs: 0 }, costOf(0, 0, 0));
      await tick();
    }
    await Promise.all(all);
    expect(order).toEqual(['first@0', 'high@1000', 'alsoHigh@2000', 'normal@3000', 'low@4000']);
    limiter.close();
  });

  it('releases waiters as the buckets refill, fairly, and lets a waiter whose agent left go', async () => {
    let now = T0;
    const limiter = new RateLimiter({
      store: new MemoryRateLimitStore({ limits: { requests: 600 } }), // 10 a second, burst 10
      key: 'k',
      gate: new PauseGate(),
      now: () => now,
    });
    const released: string[] = [];
    const leaving = new AbortController();
    const ask = (sessionId: string, signal = new AbortController().signal) =>
      limiter.acquire({ sessionId, cost: costOf(1, 1, 10) }, signal).then((ticket) => {
        released.push(ticket ? `${sessionId}:${ticket.queuedMs}` : `${sessionId}:left`);
      });
    const all = [ask('A'), ask('A'), ask('A', leaving.signal), ask('A'), ask('B')];
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(released).toEqual(['A:0']);
    expect(limiter.queued).toBe(4);
    leaving.abort();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(limiter.queued).toBe(3);
    now += 1000;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(released.slice(0, 3)).toEqual(['A:0', 'A:left', 'B:1000']);
    limiter.close();
    await Promise.all(all);
    expect(released).toHaveLength(5);
  });
});

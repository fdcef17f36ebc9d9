import { describe, expect, it } from 'vitest';
import { costOf, type RateLimitStore, type RateLimits } from '../../src/gateway/index.ts';

/** How a backend plugs into {@link describeRateLimitStoreConformance}. */
export interface RateLimitStoreConformanceOptions {
  /** A fresh store with these configured limits and a burst window of one second. */
  open(limits: RateLimits): Promise<RateLimitStore> | RateLimitStore;
  /** Gives back what `open` took (connections, keys). @default nothing */
  close?(store: RateLimitStore): Promise<void> | void;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * The one behavioural suite of the `RateLimitStore` contract (take, refund, learn), over
 * injected time; the in-memory store runs it, and a Redis store will run it with a few lines.
 */
export function describeRateLimitStoreConformance(name: string, options: RateLimitStoreConformanceOptions): void {
  const using = async (limits: RateLimits, body: (store: RateLimitStore) => Promise<void>) => {
    const store = await options.open(limits);
    try {
      await body(store);
    } finally {
      await options.close?.(store);
    }
  };

  describe(`RateLimitStore conformance: ${name}`, () => {
    it('take: lets through what fits, refuses the rest with a wait and takes nothing then', () =>
      using({ requests: 120 }, async (store) => {
        expect(await store.take('k', costOf(0, 0), T0)).toEqual({ ok: true });
        expect(await store.take('k', costOf(0, 0), T0)).toEqual({ ok: true });
        expect(await store.take('k', costOf(0, 0), T0)).toEqual({ ok: false, waitMs: 500 });
        expect(await store.take('k', costOf(0, 0), T0 + 500)).toEqual({ ok: true });
      }));

    it('take: keys are independent, and an unconfigured kind is unlimited', () =>
      using({ requests: 60 }, async (store) => {
        expect(await store.take('a', costOf(1e9, 1e9), T0)).toEqual({ ok: true });
        expect(await store.take('b', costOf(1e9, 1e9), T0)).toEqual({ ok: true });
        expect((await store.take('a', costOf(0, 0), T0)).ok).toBe(false);
      }));

    it('refund: gives back what was not used; a negative refund charges more', () =>
      using({ outputTokens: 6000 }, async (store) => {
        expect(await store.take('k', costOf(0, 100), T0)).toEqual({ ok: true });
        await store.refund('k', costOf(0, 60), T0);
        expect(await store.take('k', costOf(0, 60), T0)).toEqual({ ok: true });
        await store.refund('k', costOf(0, -100), T0);
        expect(await store.take('k', costOf(0, 10), T0)).toEqual({ ok: false, waitMs: 1100 });
      }));

    it('learn: the tighter of configured and learned wins, and what remains upstream bounds the bucket', () =>
      using({ requests: 6000 }, async (store) => {
        await store.learn('k', { requests: { limit: 60, remaining: 0 } }, T0);
        expect(await store.take('k', costOf(0, 0), T0)).toEqual({ ok: false, waitMs: 1000 });
        await store.learn('k', { outputTokens: { limit: 600 } }, T0 + 1000);
        expect(await store.take('k', costOf(0, 10), T0 + 1000)).toEqual({ ok: true });
        expect(await store.take('k', costOf(0, 10), T0 + 1000)).toEqual({ ok: false, waitMs: 1000 });
      }));
  });
}

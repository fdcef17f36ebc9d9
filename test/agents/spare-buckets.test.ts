import { describe, expect, it } from 'vitest';
import type { ProcessConfig } from '../../src/agents/sdk-options.ts';
import { type Spare, SpareBuckets, type SpareSource } from '../../src/agents/spare-buckets.ts';

// The buckets' bookkeeping of spares still starting and the agents that wait for them, on a
// source whose starts the test finishes by hand (the Claude Code processes behind real spares
// are in warm-pool.int.test.ts and warm-take.int.test.ts).

interface TestSpare extends Spare {
  readonly n: number;
}

/** A source whose every start waits until the test calls `finish(i)` (or `fail(i)`). */
function handSource() {
  const pending: { resolve: (spare: TestSpare | undefined) => void }[] = [];
  const discarded: number[] = [];
  let made = 0;
  const source: SpareSource<TestSpare> = {
    start: () =>
      new Promise((resolve) => {
        pending.push({ resolve });
      }),
    discard: async (spare) => {
      discarded.push(spare.n);
    },
  };
  const spare = (): TestSpare =>
    ({
      n: ++made,
      startedAt: performance.now(),
      gone: new Promise(() => undefined),
      tracked: undefined,
    }) as unknown as TestSpare;
  return {
    source,
    discarded,
    starts: () => pending.length,
    /** Brings start `i` (0-based, in start order) up; settles after the buckets have seen it. */
    async finish(i: number): Promise<TestSpare> {
      const made = spare();
      pending[i]?.resolve(made);
      await tick();
      return made;
    },
    async fail(i: number): Promise<void> {
      pending[i]?.resolve(undefined);
      await tick();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const config = { spec: { name: 'coder' } } as unknown as ProcessConfig;
const WAIT = { maxWaitMs: 10_000 };

function buckets(source: SpareSource<TestSpare>) {
  return new SpareBuckets(source, { size: 0, maxBuckets: 4, refillDelayMaxMs: 1000 });
}

describe('SpareBuckets.takeSoon', () => {
  it('takes a parked spare at once', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    const parked = await hand.finish(0);
    expect(pool.parked).toBe(1);
    expect(await pool.takeSoon('k', config, undefined, WAIT)).toBe(parked);
    expect(pool.counts).toEqual({ started: 1, taken: 1 });
  });

  it('waits for a spare still starting and gets it the moment it is up, never parked', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    const taking = pool.takeSoon('k', config, undefined, WAIT);
    await tick();
    const up = await hand.finish(0);
    expect(await taking).toBe(up);
    expect(pool.parked).toBe(0);
    expect(pool.live).toBe(0);
    expect(pool.counts).toEqual({ started: 1, taken: 1 });
  });

  it('promises each start to one taker, first come first served; the others start cold at once', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 2);
    const first = pool.takeSoon('k', config, undefined, WAIT);
    const second = pool.takeSoon('k', config, undefined, WAIT);
    // No third start to wait for: cold, without waiting.
    expect(await pool.takeSoon('k', config, undefined, WAIT)).toBeUndefined();
    const a = await hand.finish(1);
    const b = await hand.finish(0);
    expect(await first).toBe(a);
    expect(await second).toBe(b);
  });

  it('has nothing to wait for in a bucket with no start, or none at all', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    expect(await pool.takeSoon('k', config, undefined, WAIT)).toBeUndefined();
    expect(await pool.takeExistingSoon('other', WAIT)).toBeUndefined();
    expect(hand.starts()).toBe(0);
  });

  it('sends a taker cold when the start it waits for fails', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 2);
    const first = pool.takeSoon('k', config, undefined, WAIT);
    const second = pool.takeSoon('k', config, undefined, WAIT);
    await hand.fail(0);
    // One start is left for two takers: the later one gives up, the earlier one keeps waiting.
    expect(await second).toBeUndefined();
    const up = await hand.finish(1);
    expect(await first).toBe(up);
  });

  it('gives up after maxWaitMs; the spare that comes up later is parked for the next agent', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    expect(await pool.takeSoon('k', config, undefined, { maxWaitMs: 5 })).toBeUndefined();
    const late = await hand.finish(0);
    expect(pool.parked).toBe(1);
    expect(pool.take('k', config, undefined)).toBe(late);
  });

  it('gives up when its agent is stopped, and the spare is parked when it comes up', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    const stop = new AbortController();
    const taking = pool.takeSoon('k', config, undefined, { maxWaitMs: 10_000, signal: stop.signal });
    stop.abort();
    expect(await taking).toBeUndefined();
    await hand.finish(0);
    expect(pool.parked).toBe(1);
    // A taker already stopped does not wait at all.
    expect(await pool.takeExistingSoon('k', { maxWaitMs: 10_000, signal: stop.signal })).toBeDefined();
  });

  it('lets its takers go when the bucket is released or the pool closed, and discards what comes up after', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    pool.startMore('j', config, undefined, 1);
    const released = pool.takeSoon('k', config, undefined, WAIT);
    const closed = pool.takeSoon('j', config, undefined, WAIT);
    await pool.releaseKey('k');
    expect(await released).toBeUndefined();
    const closing = pool.close();
    await hand.finish(0);
    await hand.finish(1);
    await closing;
    expect(await closed).toBeUndefined();
    expect(hand.discarded.sort()).toEqual([1, 2]);
  });

  it('parks a spare given back by a taker stopped after it got it', async () => {
    const hand = handSource();
    const pool = buckets(hand.source);
    pool.startMore('k', config, undefined, 1);
    const taking = pool.takeSoon('k', config, undefined, WAIT);
    const up = await hand.finish(0);
    expect(await taking).toBe(up);
    pool.giveBack('k', up);
    expect(pool.counts).toEqual({ started: 1, taken: 0 });
    expect(pool.take('k', config, undefined)).toBe(up);
  });
});

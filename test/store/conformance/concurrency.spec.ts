import { describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../../src/events/index.ts';
import { events, expectContiguous, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** Several writers on one session: unique, contiguous seqs; every append atomic and in order. */
export function concurrencySpec(ctx: ConformanceContext): void {
  describe('concurrent writers', () => {
    it('keeps one session contiguous when several store instances append at once', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open(), ctx.open()]);
      const id = sessionId();
      const appends = writers.flatMap((store, w) =>
        Array.from({ length: 25 }, (_, i) => ({ store, batch: events(1 + ((w + i) % 5), `w${w}a${i}`) })),
      );
      const results = await Promise.all(appends.map(({ store, batch }) => store.append(id, batch)));
      const total = appends.reduce((sum, a) => sum + a.batch.length, 0);
      const all = await writers[0]?.read(id, { limit: total + 10 });
      expect(all).toHaveLength(total);
      expectContiguous(all as OrchestratorEvent[]);
      expect(new Set(all?.map((e) => e.id)).size).toBe(total);
      results.forEach((result, i) => {
        const pending = appends[i]?.batch ?? [];
        expect(result.map((e) => e.id)).toEqual(pending.map((e) => e.id));
        // Each append's events are contiguous in the log and read back as returned.
        const first = result[0]?.seq ?? 0;
        expect(result.map((e) => e.seq)).toEqual(pending.map((_, k) => first + k));
        expect(all?.slice(first - 1, first - 1 + result.length)).toEqual(result);
      });
      for (const store of writers) expect(await store.lastSeq(id)).toBe(total);
    });

    it('group-commits appends to many sessions from one instance without mixing them up', async () => {
      const store = await ctx.open();
      const ids = Array.from({ length: 8 }, () => sessionId());
      const work = Array.from({ length: 200 }, (_, i) => ({
        id: ids[i % ids.length] as string,
        batch: events(3, `g${i}`),
      }));
      await Promise.all(work.map(({ id, batch }) => store.append(id, batch)));
      for (const id of ids) {
        const expected = work.filter((w) => w.id === id).flatMap((w) => w.batch.map((e) => e.id));
        const all = await store.read(id);
        expectContiguous(all);
        expect(all.map((e) => e.id)).toEqual(expected);
      }
    });
  });
}

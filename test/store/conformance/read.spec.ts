import { describe, expect, it } from 'vitest';
import { events, expectContiguous, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** read and lastSeq: read-after-write on every instance, paging, defaults, bad options. */
export function readSpec(ctx: ConformanceContext): void {
  describe('read', () => {
    it('sees a resolved append at once, on the same instance and on another one', async () => {
      const writer = await ctx.open();
      const other = await ctx.open();
      const id = sessionId();
      for (let round = 1; round <= 5; round++) {
        const written = await writer.append(id, events(round, `r${round}`));
        for (const store of [writer, other]) {
          const last = written.at(-1)?.seq ?? 0;
          expect(await store.lastSeq(id)).toBe(last);
          expect(await store.read(id, { fromSeq: written[0]?.seq })).toEqual(written);
        }
      }
    });

    it('pages with fromSeq, toSeq and limit; the default page is 1000 events', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(1005));
      const first = await store.read(id);
      expect(first).toHaveLength(1000);
      expectContiguous(first);
      expect((await store.read(id, { fromSeq: 1001 })).map((e) => e.seq)).toEqual([1001, 1002, 1003, 1004, 1005]);
      expect((await store.read(id, { fromSeq: 10, toSeq: 12 })).map((e) => e.seq)).toEqual([10, 11, 12]);
      expect((await store.read(id, { fromSeq: 10, limit: 2 })).map((e) => e.seq)).toEqual([10, 11]);
      expect(await store.read(id, { fromSeq: 2000 })).toEqual([]);
      expect(await store.read(id, { fromSeq: 5, toSeq: 4 })).toEqual([]);
      expect(await store.read(id, { toSeq: 0 })).toEqual([]);
    });

    it('reads an unknown session as empty with lastSeq 0', async () => {
      const store = await ctx.open();
      expect(await store.read(sessionId())).toEqual([]);
      expect(await store.lastSeq(sessionId())).toBe(0);
    });

    it('refuses bad read options with INVALID_ARGUMENT instead of clamping them', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await rejection(store.read(id, { fromSeq: 0 }), 'INVALID_ARGUMENT');
      await rejection(store.read(id, { fromSeq: 1.5 }), 'INVALID_ARGUMENT');
      await rejection(store.read(id, { limit: 0 }), 'INVALID_ARGUMENT');
      await rejection(store.read(id, { limit: 1_000_000 }), 'INVALID_ARGUMENT');
      await rejection(store.read(id, { toSeq: -1 }), 'INVALID_ARGUMENT');
      await rejection(store.read(id, { from: 1 } as never), 'INVALID_ARGUMENT');
      await rejection(store.read(''), 'INVALID_ARGUMENT');
      await rejection(store.lastSeq(42 as never), 'INVALID_ARGUMENT');
    });
  });
}

import { describe, expect, it } from 'vitest';
import { events, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** Damaged rows are detected on read and reported with session and seq, never returned. */
export function corruptionSpec(ctx: ConformanceContext): void {
  describe('corruption', () => {
    for (const how of ['checksum', 'truncate'] as const) {
      it(`refuses a row damaged by ${how} with STORE_CORRUPT naming session and seq`, async () => {
        const store = await ctx.open();
        const id = sessionId();
        await store.append(id, events(5));
        await ctx.options.corruptRow(id, 3, how);
        const error = await rejection(store.read(id), 'STORE_CORRUPT');
        expect(error.details).toEqual({ sessionId: id, seq: 3 });
        expect(error.message).toContain(id);
        // The same verdict from a fresh instance: detection does not depend on any cache.
        const other = await ctx.open();
        await rejection(other.read(id, { fromSeq: 2, toSeq: 4 }), 'STORE_CORRUPT');
        // Rows around the damaged one stay readable, and appends go on.
        expect((await store.read(id, { toSeq: 2 })).map((e) => e.seq)).toEqual([1, 2]);
        expect((await store.read(id, { fromSeq: 4 })).map((e) => e.seq)).toEqual([4, 5]);
        expect((await store.append(id, events(1)))[0]?.seq).toBe(6);
      });
    }
  });
}

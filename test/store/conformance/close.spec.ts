import { describe, expect, it } from 'vitest';
import { events, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** close: flushes what was accepted, is idempotent, and refuses everything afterwards. */
export function closeSpec(ctx: ConformanceContext): void {
  describe('close', () => {
    it('flushes appends still queued, then closes', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const pending = [store.append(id, events(3)), store.append(id, events(2))];
      await store.close();
      const [first, second] = await Promise.all(pending);
      expect(second?.at(-1)?.seq).toBe(5);
      const reopened = await ctx.reopen();
      expect(await reopened.read(id)).toEqual([...(first ?? []), ...(second ?? [])]);
    });

    it('is idempotent: every call resolves, the same promise each time', async () => {
      const store = await ctx.open();
      const one = store.close();
      const two = store.close();
      expect(two).toBe(one);
      await Promise.all([one, two]);
      await store.close();
    });

    it('refuses every call after close with STORE_CLOSED, also while closing', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(1));
      const closing = store.close();
      await rejection(store.append(id, events(1)), 'STORE_CLOSED');
      await closing;
      await rejection(store.append(id, events(1)), 'STORE_CLOSED');
      await rejection(store.read(id), 'STORE_CLOSED');
      await rejection(store.lastSeq(id), 'STORE_CLOSED');
      await rejection(store.listSessions(), 'STORE_CLOSED');
      const reopened = await ctx.reopen();
      expect(await reopened.lastSeq(id)).toBe(1);
    });
  });
}

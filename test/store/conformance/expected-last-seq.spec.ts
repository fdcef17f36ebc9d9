import { describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../../src/errors/index.ts';
import { events, expectContiguous, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** expectedLastSeq: optimistic concurrency that refuses one append and nothing else. */
export function expectedLastSeqSpec(ctx: ConformanceContext): void {
  describe('expectedLastSeq', () => {
    it('commits when the expectation holds, and refuses with SEQUENCE_CONFLICT when not', async () => {
      const store = await ctx.open();
      const id = sessionId();
      expect(await store.append(id, events(2), { expectedLastSeq: 0 })).toHaveLength(2);
      expect((await store.append(id, events(1), { expectedLastSeq: 2 }))[0]?.seq).toBe(3);
      const error = await rejection(store.append(id, events(4), { expectedLastSeq: 2 }), 'SEQUENCE_CONFLICT');
      expect(error.details).toMatchObject({ sessionId: id, expected: 2, actual: 3 });
      expect(error.retryable).toBe(true);
      expect(await store.lastSeq(id)).toBe(3);
    });

    it('lets exactly one of two same-tick appends expecting the same seq win; others in the batch commit', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const neighbour = sessionId();
      const outcomes = await Promise.allSettled([
        store.append(id, events(2, 'x'), { expectedLastSeq: 0 }),
        store.append(id, events(3, 'y'), { expectedLastSeq: 0 }),
        store.append(id, events(1, 'z')),
        store.append(neighbour, events(1, 'n'), { expectedLastSeq: 0 }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const conflict = (outcomes[1] as PromiseRejectedResult).reason as OrchestratorError;
      expect(conflict.code).toBe('SEQUENCE_CONFLICT');
      expect(conflict.details).toMatchObject({ expected: 0, actual: 2 });
      const all = await store.read(id);
      expectContiguous(all);
      expect(all.map((e) => (e.data as { text: string }).text)).toEqual(['x:0', 'x:1', 'z:0']);
      expect(await store.lastSeq(neighbour)).toBe(1);
    });

    it('sees conflicts across store instances', async () => {
      const a = await ctx.open();
      const b = await ctx.open();
      const id = sessionId();
      await a.append(id, events(1));
      await b.append(id, events(1), { expectedLastSeq: 1 });
      const error = await rejection(a.append(id, events(1), { expectedLastSeq: 1 }), 'SEQUENCE_CONFLICT');
      expect(error.details).toMatchObject({ expected: 1, actual: 2 });
    });

    it('creates no session when the only append to it is refused', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await rejection(store.append(id, events(1), { expectedLastSeq: 5 }), 'SEQUENCE_CONFLICT');
      expect(await store.lastSeq(id)).toBe(0);
      expect((await store.listSessions({ limit: 1000 })).map((s) => s.sessionId)).not.toContain(id);
      expect((await store.append(id, events(1), { expectedLastSeq: 0 }))[0]?.seq).toBe(1);
    });

    it('checks an empty append against the expectation too', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(2));
      expect(await store.append(id, [], { expectedLastSeq: 2 })).toEqual([]);
      await rejection(store.append(id, [], { expectedLastSeq: 1 }), 'SEQUENCE_CONFLICT');
    });
  });
}

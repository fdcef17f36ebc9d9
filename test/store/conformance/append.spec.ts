import { describe, expect, it } from 'vitest';
import { type PendingEvent, prepareEvent } from '../../../src/events/index.ts';
import { committed, events, expectContiguous, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** append: sequence assignment, exact round trip, atomic refusal of bad input, duplicate ids. */
export function appendSpec(ctx: ConformanceContext): void {
  describe('append', () => {
    it('numbers a new session from 1 and continues contiguously across appends', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const first = events(3, 'a');
      const second = events(2, 'b');
      const one = await store.append(id, first);
      const two = await store.append(id, second);
      expect(one).toEqual(first.map((e, i) => committed(id, i + 1, e)));
      expect(two).toEqual(second.map((e, i) => committed(id, i + 4, e)));
      expect(await store.lastSeq(id)).toBe(5);
      expectContiguous(await store.read(id));
    });

    it('keeps the order of appends issued in the same tick, each contiguous', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const batches = Array.from({ length: 20 }, (_, i) => events(1 + (i % 4), `t${i}`));
      const results = await Promise.all(batches.map((batch) => store.append(id, batch)));
      const all = await store.read(id);
      expectContiguous(all);
      expect(all.map((e) => e.id)).toEqual(batches.flat().map((e) => e.id));
      expect(results.flat()).toEqual(all);
    });

    it('stores envelope and payload exactly: unicode, nesting, numbers, nulls, large text', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const payloads = [
        { agentId: 'a', kind: 'text', text: 'héllo wörld — 你好 🎉 \u0000 "quoted" \\ \n\t' },
        { agentId: 'a', kind: 'json', nested: { list: [1, -2.5, 1e-7, 12345678901234, null, true], empty: {} } },
        { agentId: 'a', kind: 'big', text: 'x'.repeat(200_000) },
      ];
      const pending: PendingEvent[] = payloads.map((data, i) =>
        prepareEvent({
          type: 'agent.progress',
          data,
          source: `agent:agt_${i}`,
          correlationId: i === 0 ? null : `cor_${i}`,
          causationId: i === 2 ? 'evt_cause' : null,
          ts: '2030-01-02T03:04:05.678Z',
        }),
      );
      await store.append(id, pending);
      const read = await store.read(id);
      expect(read).toEqual(pending.map((e, i) => committed(id, i + 1, e)));
      expect(JSON.stringify(read.map((e) => e.data))).toBe(JSON.stringify(payloads));
    });

    it('returns [] for an empty append and creates no session', async () => {
      const store = await ctx.open();
      const id = sessionId();
      expect(await store.append(id, [])).toEqual([]);
      expect(await store.lastSeq(id)).toBe(0);
      expect((await store.listSessions({ limit: 1000 })).map((s) => s.sessionId)).not.toContain(id);
    });

    it('refuses bad arguments with INVALID_ARGUMENT or EVENT_INVALID and writes nothing', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await rejection(store.append('', events(1)), 'INVALID_ARGUMENT');
      await rejection(store.append('s'.repeat(201), events(1)), 'INVALID_ARGUMENT');
      await rejection(store.append(id, 'nope' as never), 'INVALID_ARGUMENT');
      await rejection(store.append(id, events(1), { expectedLastSeq: -1 }), 'INVALID_ARGUMENT');
      await rejection(store.append(id, events(1), { expectSeq: 1 } as never), 'INVALID_ARGUMENT');
      const [good] = events(1);
      const bigint = { ...good, data: { n: 1n } } as unknown as PendingEvent;
      const noId = { ...good, id: '' } as PendingEvent;
      await rejection(store.append(id, [...events(2), bigint]), 'EVENT_INVALID');
      await rejection(store.append(id, [noId]), 'EVENT_INVALID');
      await rejection(store.append(id, [{ ...good, data: undefined } as PendingEvent]), 'EVENT_INVALID');
      expect(await store.lastSeq(id)).toBe(0);
    });

    it('fails only the append that repeats a stored id; the rest of its batch commits without a gap', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const [stored] = await store.append(id, events(1, 'first'));
      const before = events(2, 'before');
      const after = events(2, 'after');
      const duplicate = [...events(1, 'dup'), { ...events(1)[0], id: stored?.id } as PendingEvent];
      const outcomes = await Promise.allSettled([
        store.append(id, before),
        store.append(id, duplicate),
        store.append(id, after),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason.code).toBe('EVENT_DUPLICATE');
      const all = await store.read(id);
      expectContiguous(all);
      expect(all.map((e) => e.id)).toEqual([stored?.id, ...before.map((e) => e.id), ...after.map((e) => e.id)]);
      await rejection(store.append(sessionId(), [stored as PendingEvent]), 'EVENT_DUPLICATE');
    });
  });
}

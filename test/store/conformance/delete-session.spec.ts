import { describe, expect, it } from 'vitest';
import type { OrchestratorEvent } from '../../../src/events/index.ts';
import { events, expectContiguous, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** deleteSession: retention's one deletion, a whole session at once, nothing else touched. */
export function deleteSessionSpec(ctx: ConformanceContext): void {
  describe('deleteSession', () => {
    it('deletes that session only and returns how many events went', async () => {
      const store = await ctx.open();
      const [gone, kept] = [sessionId(), sessionId()];
      await store.append(gone, events(4, 'g'));
      await store.append(gone, events(3, 'g2'));
      const keptEvents = await store.append(kept, events(5, 'k'));
      expect(await store.deleteSession(gone)).toBe(7);
      expect(await store.read(gone)).toEqual([]);
      expect(await store.lastSeq(gone)).toBe(0);
      expect(await store.read(kept)).toEqual(keptEvents);
      expect(await store.lastSeq(kept)).toBe(5);
      // Deleting again finds nothing.
      expect(await store.deleteSession(gone)).toBe(0);
    });

    it('takes the session out of listSessions; paging around it still works', async () => {
      const store = await ctx.open();
      const ids = [sessionId(), sessionId(), sessionId()];
      for (const id of ids) await store.append(id, events(1));
      await store.deleteSession(ids[1] as string);
      const listed = (await store.listSessions({ limit: 3 })).map((s) => s.sessionId);
      expect(listed.slice(0, 2)).toEqual([ids[2], ids[0]]);
      expect(listed).not.toContain(ids[1]);
      const page = await store.listSessions({ limit: 1, before: ids[2] });
      expect(page[0]?.sessionId).toBe(ids[0]);
      await rejection(store.listSessions({ before: ids[1] }), 'SESSION_NOT_FOUND');
    });

    it('lets the same id start a new log at sequence 1, listed as a new session', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(6, 'old'));
      await store.deleteSession(id);
      const fresh = events(2, 'new');
      const again = await store.append(id, fresh, { expectedLastSeq: 0 });
      expect(again.map((e) => e.seq)).toEqual([1, 2]);
      const all = await store.read(id);
      expect(all.map((e) => e.id)).toEqual(fresh.map((e) => e.id));
      expect((await store.listSessions({ limit: 1 }))[0]).toMatchObject({ sessionId: id, lastSeq: 2 });
    });

    it('writes the appends accepted before it first, so they go with the session', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(2));
      const queued = store.append(id, events(3));
      expect(await store.deleteSession(id)).toBe(5);
      expect((await queued).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(await store.lastSeq(id)).toBe(0);
    });

    it('leaves concurrent appends to other sessions, from several instances, whole and contiguous', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
      const deleter = writers[0];
      if (!deleter) throw new Error('three stores expected');
      const victims = [sessionId(), sessionId(), sessionId()];
      for (const id of victims) await deleter.append(id, events(10, 'v'));
      const others = [sessionId(), sessionId()];
      const appends = writers.flatMap((store, w) =>
        Array.from({ length: 20 }, (_, i) => ({
          store,
          id: others[(w + i) % others.length] as string,
          batch: events(1 + (i % 3), `w${w}a${i}`),
        })),
      );
      const [deleted] = await Promise.all([
        Promise.all(victims.map((id) => deleter.deleteSession(id))),
        Promise.all(appends.map(({ store, id, batch }) => store.append(id, batch))),
      ]);
      expect(deleted).toEqual([10, 10, 10]);
      for (const id of victims) expect(await deleter.lastSeq(id)).toBe(0);
      for (const id of others) {
        const expected = appends.filter((a) => a.id === id).flatMap((a) => a.batch.map((e) => e.id));
        const all = (await deleter.read(id, { limit: expected.length + 10 })) as OrchestratorEvent[];
        expectContiguous(all);
        expect(all.map((e) => e.id).sort()).toEqual([...expected].sort());
      }
    });

    it('stays deleted across close and reopen', async () => {
      const store = await ctx.open();
      const [gone, kept] = [sessionId(), sessionId()];
      await store.append(gone, events(3));
      await store.append(kept, events(2));
      await store.deleteSession(gone);
      await store.close();
      const reopened = await ctx.reopen();
      expect(await reopened.lastSeq(gone)).toBe(0);
      expect(await reopened.read(gone)).toEqual([]);
      expect(await reopened.lastSeq(kept)).toBe(2);
    });

    it('refuses a bad id, and any call once closed', async () => {
      const store = await ctx.open();
      expect(await store.deleteSession(sessionId())).toBe(0);
      await rejection(store.deleteSession(''), 'INVALID_ARGUMENT');
      await rejection(store.deleteSession('x'.repeat(201)), 'INVALID_ARGUMENT');
      await rejection(store.deleteSession(42 as never), 'INVALID_ARGUMENT');
      await store.close();
      await rejection(store.deleteSession(sessionId()), 'STORE_CLOSED');
    });
  });
}

import { describe, expect, it } from 'vitest';
import { events, rejection, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/**
 * listSessions: newest first by creation, keyset paging with `before`. Specs of a suite run one
 * after another, so the sessions a spec has just created are the newest of the database.
 */
export function listSessionsSpec(ctx: ConformanceContext): void {
  describe('listSessions', () => {
    it('lists newest first and pages with limit and before', async () => {
      const store = await ctx.open();
      const ids = Array.from({ length: 5 }, () => sessionId());
      for (const id of ids) await store.append(id, events(1));
      // A later append to the oldest session must not move it: order is by creation.
      await store.append(ids[0] as string, events(2));
      const newestFirst = [...ids].reverse();

      expect((await store.listSessions({ limit: 5 })).map((s) => s.sessionId)).toEqual(newestFirst);
      const page1 = await store.listSessions({ limit: 2 });
      const page2 = await store.listSessions({ limit: 2, before: page1.at(-1)?.sessionId });
      const page3 = await store.listSessions({ limit: 2, before: page2.at(-1)?.sessionId });
      expect(page1.map((s) => s.sessionId)).toEqual(newestFirst.slice(0, 2));
      expect(page2.map((s) => s.sessionId)).toEqual(newestFirst.slice(2, 4));
      expect(page3[0]?.sessionId).toBe(ids[0]);
      expect(page3.length).toBeLessThanOrEqual(2);
    });

    it('summarizes each session: lastSeq and ISO creation and update times', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await store.append(id, events(2));
      const [created] = await store.listSessions({ limit: 1 });
      await store.append(id, events(3));
      const [updated] = await store.listSessions({ limit: 1 });
      expect(created).toMatchObject({ sessionId: id, lastSeq: 2 });
      expect(updated).toMatchObject({ sessionId: id, lastSeq: 5, createdAt: created?.createdAt });
      for (const time of [updated?.createdAt, updated?.updatedAt]) {
        expect(new Date(time as string).toISOString()).toBe(time);
      }
      expect(Date.parse(updated?.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(updated?.createdAt as string));
    });

    it('uses a default page of 100 and refuses bad options', async () => {
      const store = await ctx.open();
      expect((await store.listSessions()).length).toBeLessThanOrEqual(100);
      await rejection(store.listSessions({ before: sessionId() }), 'SESSION_NOT_FOUND');
      await rejection(store.listSessions({ limit: 0 }), 'INVALID_ARGUMENT');
      await rejection(store.listSessions({ limit: 2.5 }), 'INVALID_ARGUMENT');
      await rejection(store.listSessions({ after: 'x' } as never), 'INVALID_ARGUMENT');
    });
  });
}

import { describe, expect, it } from 'vitest';
import { events, sessionId } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** Durability: everything a closed store acknowledged is there after reopening. */
export function reopenSpec(ctx: ConformanceContext): void {
  describe('reopen', () => {
    it('keeps every event, lastSeq and session summary across close and reopen', async () => {
      const store = await ctx.open();
      const ids = [sessionId(), sessionId(), sessionId()];
      for (const [i, id] of ids.entries()) {
        await store.append(id, events(10 + i, `a${i}`));
        await store.append(id, events(3, `b${i}`));
      }
      const before = await Promise.all(ids.map((id) => store.read(id)));
      const sessionsBefore = (await store.listSessions({ limit: 3 })).filter((s) => ids.includes(s.sessionId));
      await store.close();

      const reopened = await ctx.reopen();
      for (const [i, id] of ids.entries()) {
        expect(await reopened.read(id)).toEqual(before[i]);
        expect(await reopened.lastSeq(id)).toBe(13 + i);
      }
      const sessionsAfter = (await reopened.listSessions({ limit: 3 })).filter((s) => ids.includes(s.sessionId));
      expect(sessionsAfter).toEqual(sessionsBefore);
      expect(sessionsAfter).toHaveLength(3);
      const [next] = await reopened.append(ids[0] as string, events(1));
      expect(next?.seq).toBe(14);
    });
  });
}

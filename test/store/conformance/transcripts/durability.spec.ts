import { describe, expect, it } from 'vitest';
import { entry as E, expectEntries } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** Transcripts outlive the instance that wrote them; concurrent writers never mix batches. */
export function durabilitySpec(ctx: TranscriptConformanceContext): void {
  describe('durability and concurrency', () => {
    it('keeps transcripts, subkeys, mtimes and uuid memory across close and reopen', async () => {
      const opened = await ctx.openClosable();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const entries = [E('user', { uuid: 'u-1' }), E('assistant', { uuid: 'u-2' })];
      await opened.ops.append(key, entries);
      await opened.ops.append({ ...key, subpath: 'subagents/agent-a' }, [E('sub')]);
      const sessions = await opened.ops.listSessions(key.projectKey);
      await opened.close();

      const store = await ctx.reopen();
      expectEntries(await store.load(key), entries);
      expect(await store.listSubkeys(key)).toEqual(['subagents/agent-a']);
      expect(await store.listSessions(key.projectKey)).toEqual(sessions);
      await store.append(key, [E('user', { uuid: 'u-1' }), E('user', { uuid: 'u-3' })]);
      expectEntries(await store.load(key), [...entries, E('user', { uuid: 'u-3' })]);
    });

    it('keeps every batch whole and each instance’s batches in call order when several append at once', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const batches = 20;
      await Promise.all(
        writers.map((store, w) =>
          Promise.all(
            Array.from({ length: batches }, (_, b) =>
              // Not awaited one by one: the instance must keep call order by itself.
              store.append(key, [E('a', { uuid: `w${w}b${b}e0`, w, b }), E('a', { uuid: `w${w}b${b}e1`, w, b })]),
            ),
          ),
        ),
      );
      const loaded = (await writers[0]?.load(key)) ?? [];
      expect(loaded).toHaveLength(writers.length * batches * 2);
      for (let i = 0; i < loaded.length; i += 2) {
        // The two entries of a batch sit side by side.
        expect(loaded[i + 1]?.uuid).toBe(String(loaded[i]?.uuid).replace(/e0$/, 'e1'));
      }
      for (let w = 0; w < writers.length; w++) {
        const order = loaded.filter((e) => e.w === w && String(e.uuid).endsWith('e0')).map((e) => e.b);
        expect(order).toEqual(Array.from({ length: batches }, (_, b) => b));
      }
    });
  });
}

import { describe, expect, it } from 'vitest';
import { entry as E, expectEntries } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** Keys: main, subpath, session and project never see each other's entries. */
export function keysSpec(ctx: TranscriptConformanceContext): void {
  describe('keys', () => {
    // SDK contract 5.
    it('stores a subpath transcript apart from the main one', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('main')]);
      await store.append({ ...key, subpath: 'subagents/agent-x' }, [E('sub')]);
      expectEntries(await store.load(key), [E('main')]);
      expectEntries(await store.load({ ...key, subpath: 'subagents/agent-x' }), [E('sub')]);
    });

    // SDK contract 6.
    it('keeps projects apart for the same session id', async () => {
      const store = await ctx.open();
      const a = { projectKey: ctx.project('a'), sessionId: 's' };
      const b = { projectKey: ctx.project('b'), sessionId: 's' };
      await store.append(a, [E('in-a')]);
      await store.append(b, [E('in-b')]);
      expectEntries(await store.load(a), [E('in-a')]);
      expectEntries(await store.load(b), [E('in-b')]);
    });

    it('treats an explicit undefined subpath as the main transcript', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append({ ...key, subpath: undefined } as never, [E('main')]);
      expectEntries(await store.load(key), [E('main')]);
      expect(await store.listSubkeys(key)).toEqual([]);
    });
  });
}

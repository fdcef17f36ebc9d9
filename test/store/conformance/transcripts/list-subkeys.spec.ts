import { describe, expect, it } from 'vitest';
import { entry as E } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** listSubkeys: the subpaths of one session, never the main transcript. */
export function listSubkeysSpec(ctx: TranscriptConformanceContext): void {
  describe('listSubkeys', () => {
    // SDK contract 12.
    it('lists the subpaths stored under the session, and only those', async () => {
      const store = await ctx.open();
      const p = ctx.project('p');
      const key = { projectKey: p, sessionId: 's' };
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [E('sa')]);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, [E('sb')]);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [E('sa2')]);
      await store.append({ projectKey: p, sessionId: 'other', subpath: 'subagents/agent-c' }, [E('sc')]);
      expect((await store.listSubkeys(key)).sort()).toEqual(['subagents/agent-a', 'subagents/agent-b']);
    });

    // SDK contract 13.
    it('never lists the main transcript; an unknown session has none', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('main')]);
      expect(await store.listSubkeys(key)).toEqual([]);
      expect(await store.listSubkeys({ projectKey: ctx.project('x'), sessionId: 'never' })).toEqual([]);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { entry as E, expectEntries } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** delete: the main key takes its subpaths along; a subpath goes alone; others stay. */
export function deleteSpec(ctx: TranscriptConformanceContext): void {
  describe('delete', () => {
    // SDK contract 9.
    it('deletes a main transcript so that it loads as null; deleting a key never written is fine', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('a')]);
      await store.delete(key);
      expect(await store.load(key)).toBeNull();
      expect(await store.listSessions(key.projectKey)).toEqual([]);
      await store.delete({ projectKey: ctx.project('x'), sessionId: 'never' });
      await store.delete({ projectKey: ctx.project('x'), sessionId: 'never', subpath: 'subagents/agent-n' });
    });

    // SDK contract 10.
    it('takes every subpath of the session along, and nothing of other sessions or projects', async () => {
      const store = await ctx.open();
      const [p, p2] = [ctx.project('p'), ctx.project('p2')];
      const key = { projectKey: p, sessionId: 's' };
      await store.append(key, [E('main')]);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [E('sa')]);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, [E('sb')]);
      await store.append({ projectKey: p, sessionId: 'other' }, [E('o')]);
      await store.append({ projectKey: p2, sessionId: 's' }, [E('p2')]);
      await store.delete(key);
      expect(await store.load(key)).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-a' })).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-b' })).toBeNull();
      expectEntries(await store.load({ projectKey: p, sessionId: 'other' }), [E('o')]);
      expectEntries(await store.load({ projectKey: p2, sessionId: 's' }), [E('p2')]);
      expect(await store.listSubkeys(key)).toEqual([]);
    });

    // SDK contract 11.
    it('deletes only the named subpath', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('main')]);
      await store.append({ ...key, subpath: 'subagents/agent-a' }, [E('sa')]);
      await store.append({ ...key, subpath: 'subagents/agent-b' }, [E('sb')]);
      await store.delete({ ...key, subpath: 'subagents/agent-a' });
      expectEntries(await store.load(key), [E('main')]);
      expect(await store.load({ ...key, subpath: 'subagents/agent-a' })).toBeNull();
      expectEntries(await store.load({ ...key, subpath: 'subagents/agent-b' }), [E('sb')]);
      expect(await store.listSubkeys(key)).toEqual(['subagents/agent-b']);
    });

    it('starts afresh after a delete: uuids seen before are accepted again', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('user', { uuid: 'u-1', v: 1 })]);
      await store.delete(key);
      await store.append(key, [E('user', { uuid: 'u-1', v: 2 })]);
      expectEntries(await store.load(key), [E('user', { uuid: 'u-1', v: 2 })]);
    });
  });
}

/** deleteTranscriptSessions: every transcript of the named SDK sessions, in any project. */
export function deleteSessionsSpec(ctx: TranscriptConformanceContext): void {
  describe('delete by SDK session ids (retention)', () => {
    it('deletes main transcripts and subpaths of those sessions in every project, nothing else', async (test) => {
      const store = await ctx.open();
      const deleteSessions = store.deleteSessions?.bind(store);
      if (!deleteSessions) return test.skip('the SDK SessionStore has no delete by session ids (a store method)');
      const [p, p2] = [ctx.project('p'), ctx.project('p2')];
      const [a, b, kept] = [`a-${p}`, `b-${p}`, `kept-${p}`];
      await store.append({ projectKey: p, sessionId: a }, [E('a')]);
      await store.append({ projectKey: p, sessionId: a, subpath: 'subagents/agent-x' }, [E('ax')]);
      await store.append({ projectKey: p2, sessionId: a }, [E('a2')]);
      await store.append({ projectKey: p2, sessionId: b }, [E('b')]);
      await store.append({ projectKey: p, sessionId: kept }, [E('k')]);
      await store.append({ projectKey: p, sessionId: kept, subpath: 'subagents/agent-y' }, [E('ky')]);

      expect(await deleteSessions([a, b, a, `never-${p}`])).toBe(4);
      expect(await store.load({ projectKey: p, sessionId: a })).toBeNull();
      expect(await store.load({ projectKey: p, sessionId: a, subpath: 'subagents/agent-x' })).toBeNull();
      expect(await store.load({ projectKey: p2, sessionId: a })).toBeNull();
      expect(await store.load({ projectKey: p2, sessionId: b })).toBeNull();
      expect(await store.listSessions(p2)).toEqual([]);
      expectEntries(await store.load({ projectKey: p, sessionId: kept }), [E('k')]);
      expect(await store.listSubkeys({ projectKey: p, sessionId: kept })).toEqual(['subagents/agent-y']);
      expect((await store.listSessions(p)).map((s) => s.sessionId)).toEqual([kept]);

      expect(await deleteSessions([])).toBe(0);
      expect(await deleteSessions([a])).toBe(0);
      // A session id used again afterwards starts afresh.
      await store.append({ projectKey: p, sessionId: a }, [E('again')]);
      expectEntries(await store.load({ projectKey: p, sessionId: a }), [E('again')]);
    });

    it('refuses a list that is not one of session ids', async (test) => {
      const store = await ctx.open();
      const deleteSessions = store.deleteSessions?.bind(store);
      if (!deleteSessions) return test.skip('the SDK SessionStore has no delete by session ids (a store method)');
      for (const bad of ['s' as never, [''], [42 as never], ['x'.repeat(201)]]) {
        await expect(deleteSessions(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    });
  });
}

import { describe, expect, it } from 'vitest';
import { entry as E, expectEntries } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** append and load: order, emptiness, idempotence by uuid, exact round trip. */
export function appendLoadSpec(ctx: TranscriptConformanceContext): void {
  describe('append and load', () => {
    // SDK contract 1.
    it('loads what was appended, deep-equal and in the same order', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const entries = [E('a', { n: 1, nested: { x: [1, 2] } }), E('b', { n: 2 })];
      await store.append(key, entries);
      expectEntries(await store.load(key), entries);
    });

    // SDK contract 2.
    it('loads a key never written as null, main transcript and subpath alike', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      expect(await store.load(key)).toBeNull();
      expect(await store.load({ ...key, subpath: 'subagents/agent-1' })).toBeNull();
    });

    // SDK contract 3.
    it('keeps the order of successive appends', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, [E('first')]);
      await store.append(key, [E('second'), E('third')]);
      await store.append(key, [E('fourth')]);
      expectEntries(await store.load(key), [E('first'), E('second'), E('third'), E('fourth')]);
    });

    // SDK contract 4.
    it('treats an empty append as nothing: it creates no transcript and changes none', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await store.append(key, []);
      expect(await store.load(key)).toBeNull();
      expect(await store.listSessions(key.projectKey)).toEqual([]);
      await store.append(key, [E('only')]);
      await store.append(key, []);
      expectEntries(await store.load(key), [E('only')]);
    });

    it('ignores an entry whose uuid the key already holds, within a batch and across batches', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const first = E('user', { uuid: 'u-1', message: 'hello' });
      const second = E('assistant', { uuid: 'u-2', message: 'hi' });
      await store.append(key, [first, second, { ...first, message: 'repeated in the batch' }]);
      // A retried batch (the SDK retries failed appends) and a replayed import change nothing.
      await store.append(key, [first, second]);
      await store.append(key, [{ ...second, message: 'changed' }, E('user', { uuid: 'u-3' })]);
      expectEntries(await store.load(key), [first, second, E('user', { uuid: 'u-3' })]);
    });

    it('always appends entries without a uuid, repeats included', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const title = E('custom-title', { customTitle: 'same' });
      await store.append(key, [title, title]);
      await store.append(key, [title, E('x', { uuid: 'u-1' }), title]);
      expectEntries(await store.load(key), [title, title, title, E('x', { uuid: 'u-1' }), title]);
    });

    it('scopes uuids to their key: the same uuid under another key or subpath is stored there too', async () => {
      const store = await ctx.open();
      const project = ctx.project('p');
      const main = { projectKey: project, sessionId: 's' };
      const sub = { ...main, subpath: 'subagents/agent-a' };
      const other = { projectKey: project, sessionId: 't' };
      const shared = E('user', { uuid: 'same-uuid' });
      for (const key of [main, sub, other]) await store.append(key, [shared]);
      for (const key of [main, sub, other]) expectEntries(await store.load(key), [shared]);
    });

    it('round-trips any JSON: unicode, numbers, null, booleans, empty and deep values, large entries', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const entries = [
        E('user', {
          uuid: '6f1c1f5e-3f2a-4f0e-9d55-0b7f5a9f0c11',
          timestamp: '2026-01-02T03:04:05.678Z',
          parentUuid: null,
          message: { role: 'user', content: [{ type: 'text', text: 'héllo ✓ 𝄞 \u0000 "quoted" \\ \n tab\t' }] },
        }),
        E('numbers', { int: -42, float: 0.1 + 0.2, big: Number.MAX_SAFE_INTEGER, exp: 1e-7, zero: 0 }),
        E('flags', { yes: true, no: false, nothing: null, empty: {}, list: [], nested: [[[{ deep: [1] }]]] }),
        E('large', { text: 'x'.repeat(200_000) }),
        E('keys', { z: 1, a: 2, m: { y: 1, b: 2 } }),
      ];
      await store.append(key, entries);
      expectEntries(await store.load(key), entries);
    });

    it('loads many entries appended in many batches in order', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      const all = Array.from({ length: 600 }, (_, i) => E(i % 3 === 0 ? 'user' : 'assistant', { uuid: `u-${i}`, i }));
      for (let i = 0; i < all.length; i += 50) await store.append(key, all.slice(i, i + 50));
      expectEntries(await store.load(key), all);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { rejection } from '../helpers.ts';
import { entry as E } from './helpers.ts';
import type { TranscriptConformanceContext } from './types.ts';

/** Bad keys and entries are refused before anything is written; a closed store refuses everything. */
export function argumentsSpec(ctx: TranscriptConformanceContext): void {
  describe('arguments and close', () => {
    it('refuses an empty subpath, project or session and entries without a string type', async () => {
      const store = await ctx.open();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await rejection(store.append({ ...key, subpath: '' }, [E('a')]), 'INVALID_ARGUMENT');
      await rejection(store.load({ ...key, subpath: '' }), 'INVALID_ARGUMENT');
      await rejection(store.append({ ...key, projectKey: '' }, [E('a')]), 'INVALID_ARGUMENT');
      await rejection(store.append({ ...key, sessionId: '' }, [E('a')]), 'INVALID_ARGUMENT');
      await rejection(store.append(key, [E('ok'), { uuid: 'no-type' } as never]), 'INVALID_ARGUMENT');
      await rejection(store.append(key, [null as never]), 'INVALID_ARGUMENT');
      await rejection(store.listSessions(''), 'INVALID_ARGUMENT');
      // A refused batch wrote nothing, not even its valid entries.
      expect(await store.load(key)).toBeNull();
    });

    it('refuses every call after close with STORE_CLOSED', async () => {
      const opened = await ctx.openClosable();
      const key = { projectKey: ctx.project('p'), sessionId: 's' };
      await opened.close();
      await rejection(opened.ops.append(key, [E('a')]), 'STORE_CLOSED');
      await rejection(opened.ops.load(key), 'STORE_CLOSED');
      await rejection(opened.ops.listSessions(key.projectKey), 'STORE_CLOSED');
      await rejection(opened.ops.delete(key), 'STORE_CLOSED');
      await rejection(opened.ops.listSubkeys(key), 'STORE_CLOSED');
    });
  });
}

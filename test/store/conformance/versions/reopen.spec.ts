import { describe, expect, it } from 'vitest';
import { rejection, sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** Durability and close: versions and blobs outlive the instance that wrote them. */
export function reopenSpec(ctx: VersionConformanceContext): void {
  describe('reopen and close', () => {
    it('keeps versions, blobs and numbering across close and reopen', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const blobs = freshBlobs(4);
      await store.putBlobs(blobs);
      await store.putVersion(newVersion(id, blobs.slice(0, 2), { label: 'one' }));
      await store.putVersion(newVersion(id, blobs.slice(1), { label: 'two' }));
      const before = await store.listVersions(id);
      await store.close();

      const reopened = await ctx.reopen();
      expect(await reopened.listVersions(id)).toEqual(before);
      const found = await reopened.getBlobs(blobs.map((b) => b.hash));
      for (const b of blobs) expect(found.get(b.hash)).toEqual(b.bytes);
      expect((await reopened.putVersion(newVersion(id, blobs))).version).toBe(3);
    });

    it('refuses every call after close with STORE_CLOSED', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const blobs = freshBlobs(1);
      await store.close();
      await rejection(store.putBlobs(blobs), 'STORE_CLOSED');
      await rejection(store.getBlobs([]), 'STORE_CLOSED');
      await rejection(store.putVersion(newVersion(id, [])), 'STORE_CLOSED');
      await rejection(store.listVersions(id), 'STORE_CLOSED');
      await rejection(store.getVersion(id, 1), 'STORE_CLOSED');
      await rejection(store.deleteVersions(id, [1]), 'STORE_CLOSED');
      await rejection(store.deleteUnreferencedBlobs(), 'STORE_CLOSED');
    });

    it('finishes a putVersion already running when close is called', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const blobs = freshBlobs(2);
      await store.putBlobs(blobs);
      const put = store.putVersion(newVersion(id, blobs));
      await store.close();
      expect((await put).version).toBe(1);
      const reopened = await ctx.reopen();
      expect((await reopened.listVersions(id)).map((v) => v.version)).toEqual([1]);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { rejection, sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** deleteVersions and compaction: referenced blobs always survive, unreferenced ones go. */
export function deleteSpec(ctx: VersionConformanceContext): void {
  describe('deleteVersions and deleteUnreferencedBlobs', () => {
    it('deletes the named versions only and counts them (unknown numbers are ignored)', async () => {
      const store = await ctx.open();
      const [id, other] = [sessionId(), sessionId()];
      const blobs = freshBlobs(1);
      await store.putBlobs(blobs);
      for (let i = 0; i < 4; i++) await store.putVersion(newVersion(id, blobs));
      await store.putVersion(newVersion(other, blobs));
      expect(await store.deleteVersions(id, [2, 4, 4, 99])).toBe(2);
      expect((await store.listVersions(id)).map((v) => v.version)).toEqual([1, 3]);
      expect(await store.getVersion(id, 2)).toBeUndefined();
      expect((await store.listVersions(other)).map((v) => v.version)).toEqual([1]);
      expect(await store.deleteVersions(id, [])).toBe(0);
      expect(await store.deleteVersions(sessionId(), [1])).toBe(0);
    });

    it('compaction keeps every blob a remaining version refers to, in any session', async () => {
      const store = await ctx.open();
      const [a, b] = [sessionId(), sessionId()];
      const [shared, onlyOld, onlyNew, inOther, loose] = freshBlobs(5);
      if (!shared || !onlyOld || !onlyNew || !inOther || !loose) throw new Error('five blobs expected');
      await store.putBlobs([shared, onlyOld, onlyNew, inOther, loose]);
      await store.putVersion(newVersion(a, [shared, onlyOld])); // a/1
      await store.putVersion(newVersion(a, [shared, onlyNew])); // a/2
      await store.putVersion(newVersion(b, [onlyOld, inOther])); // b/1
      await store.deleteVersions(a, [1]);
      expect(await store.deleteUnreferencedBlobs()).toBeGreaterThanOrEqual(1); // loose, at least
      const all = [shared, onlyOld, onlyNew, inOther, loose].map((x) => x.hash);
      expect([...(await store.getBlobs(all)).keys()].sort()).toEqual(
        [shared.hash, onlyOld.hash, onlyNew.hash, inOther.hash].sort(),
      );
      await store.deleteVersions(b, [1]);
      expect(await store.deleteUnreferencedBlobs()).toBe(2); // onlyOld and inOther
      expect([...(await store.getBlobs(all)).keys()].sort()).toEqual([shared.hash, onlyNew.hash].sort());
      // The survivor still loads whole.
      expect((await store.getBlobs([shared.hash, onlyNew.hash])).get(shared.hash)).toEqual(shared.bytes);
      expect(await store.deleteUnreferencedBlobs()).toBe(0);
    });

    it('keeps exactly the referenced blobs of large versions that share most of their blobs', async () => {
      const store = await ctx.open();
      const [a, b] = [sessionId(), sessionId()];
      await store.deleteUnreferencedBlobs(); // what earlier specs left, so the counts below are exact
      const base = freshBlobs(2000, 24);
      const added = freshBlobs(20, 24);
      const second = [...base.slice(20), ...added]; // 20 blobs out, 20 in
      await store.putBlobs([...base, ...added]);
      await store.putVersion(newVersion(a, base)); // a/1
      await store.putVersion(newVersion(a, second)); // a/2
      await store.putVersion(newVersion(b, [...second].reverse())); // b/1: same blobs, other order
      await store.deleteVersions(a, [1]);
      expect(await store.deleteUnreferencedBlobs()).toBe(20);
      const hashes = (list: typeof base) => list.map((x) => x.hash);
      expect((await store.getBlobs(hashes(base.slice(0, 20)))).size).toBe(0);
      expect((await store.getBlobs(hashes(second))).size).toBe(2000);
      await store.deleteVersions(a, [2]);
      expect(await store.deleteUnreferencedBlobs()).toBe(0);
      // A new version of what is stored needs no blob again, and the blobs still load.
      await store.putVersion(newVersion(a, second));
      await store.deleteVersions(b, [1]);
      expect(await store.deleteUnreferencedBlobs()).toBe(0);
      expect((await store.getBlobs(hashes(second))).get(added[0]?.hash as string)).toEqual(added[0]?.bytes);
      await store.deleteVersions(a, [3]);
      expect(await store.deleteUnreferencedBlobs()).toBe(2000);
    });

    it('refuses a version naming blobs that are not stored, and writes nothing', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const [stored, absent] = freshBlobs(2);
      if (!stored || !absent) throw new Error('two blobs expected');
      await store.putBlobs([stored]);
      const error = await rejection(store.putVersion(newVersion(id, [stored, absent])), 'INVALID_ARGUMENT');
      expect(error.message).toContain(absent.hash);
      expect(error.retryable).toBe(true);
      expect(await store.listVersions(id)).toEqual([]);
      // The refused call used no number.
      expect((await store.putVersion(newVersion(id, [stored]))).version).toBe(1);
    });

    it('refuses malformed versions and numbers with INVALID_ARGUMENT', async () => {
      const store = await ctx.open();
      const id = sessionId();
      await rejection(store.putVersion(newVersion(id, [], { seq: -1 })), 'INVALID_ARGUMENT');
      await rejection(store.putVersion(newVersion(id, [], { checksum: 'short' })), 'INVALID_ARGUMENT');
      await rejection(store.putVersion(newVersion(id, [], { createdAt: 'yesterday' })), 'INVALID_ARGUMENT');
      await rejection(store.putVersion(newVersion('', [])), 'INVALID_ARGUMENT');
      await rejection(store.putVersion({ ...newVersion(id, []), extra: 1 } as never), 'INVALID_ARGUMENT');
      await rejection(store.getVersion(id, 0), 'INVALID_ARGUMENT');
      await rejection(store.deleteVersions(id, [1.5]), 'INVALID_ARGUMENT');
      expect(await store.listVersions(id)).toEqual([]);
    });
  });
}

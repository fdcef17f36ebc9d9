import { describe, expect, it } from 'vitest';
import { sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** putVersion / getVersion: numbers 1, 2, 3 per session; every field stored as given. */
export function numberingSpec(ctx: VersionConformanceContext): void {
  describe('putVersion numbering and fields', () => {
    it('numbers the versions of each session 1, 2, 3 independently of other sessions', async () => {
      const store = await ctx.open();
      const [a, b] = [sessionId(), sessionId()];
      const blobs = freshBlobs(2);
      await store.putBlobs(blobs);
      const numbers: Array<[string, number]> = [];
      for (const id of [a, b, a, a, b]) numbers.push([id, (await store.putVersion(newVersion(id, blobs))).version]);
      expect(numbers).toEqual([
        [a, 1],
        [b, 1],
        [a, 2],
        [a, 3],
        [b, 2],
      ]);
    });

    it('returns the record as stored, and getVersion reads every field back', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const blobs = freshBlobs(3);
      await store.putBlobs(blobs);
      const input = newVersion(id, blobs, {
        seq: 4321,
        label: 'before the risky step — ü',
        workspaceCommit: '0123456789abcdef0123456789abcdef01234567',
        schemaVersion: 7,
        newBytes: 12345,
        manifest: new Uint8Array([0, 1, 2, 250, 255, 0]),
      });
      const record = await store.putVersion(input);
      const { blobHashes: _ignored, ...expected } = input;
      expect(record).toEqual({ ...expected, version: 1 });
      const read = await store.getVersion(id, 1);
      expect(read).toEqual(record);
      expect(read?.manifest).toBeInstanceOf(Uint8Array);
      expect([...(read?.manifest ?? [])]).toEqual([0, 1, 2, 250, 255, 0]);
    });

    it('reads an unknown version as undefined and an unknown session as no versions', async () => {
      const store = await ctx.open();
      const id = sessionId();
      expect(await store.getVersion(id, 1)).toBeUndefined();
      expect(await store.listVersions(id)).toEqual([]);
      const blobs = freshBlobs(1);
      await store.putBlobs(blobs);
      await store.putVersion(newVersion(id, blobs));
      expect(await store.getVersion(id, 2)).toBeUndefined();
    });

    it('never reuses a number, even after the newest version was deleted', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const blobs = freshBlobs(1);
      await store.putBlobs(blobs);
      await store.putVersion(newVersion(id, blobs));
      await store.putVersion(newVersion(id, blobs));
      expect(await store.deleteVersions(id, [2])).toBe(1);
      expect((await store.putVersion(newVersion(id, blobs))).version).toBe(3);
      expect((await store.listVersions(id)).map((v) => v.version)).toEqual([1, 3]);
    });

    it('stores a version with no blobs (an empty state)', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const record = await store.putVersion(newVersion(id, [], { seq: 0 }));
      expect(record.version).toBe(1);
      expect(await store.getVersion(id, 1)).toEqual(record);
    });
  });
}

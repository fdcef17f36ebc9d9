import { describe, expect, it } from 'vitest';
import { sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** Several writers taking versions of one session at once: every number once, no gap. */
export function concurrencySpec(ctx: VersionConformanceContext): void {
  describe('putVersion with several writers', () => {
    it('hands out 1..n exactly once when four store instances put versions at once', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open(), ctx.open()]);
      const id = sessionId();
      const blobs = freshBlobs(5);
      await writers[0]?.putBlobs(blobs);
      const perWriter = 12;
      const puts = writers.flatMap((store, w) =>
        Array.from({ length: perWriter }, (_, i) =>
          store.putVersion(newVersion(id, blobs.slice(0, 1 + ((w + i) % blobs.length)), { seq: w * 100 + i })),
        ),
      );
      const records = await Promise.all(puts);
      const total = writers.length * perWriter;
      expect(records.map((r) => r.version).sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      const listed = await writers[1]?.listVersions(id);
      expect(listed?.map((v) => v.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // Each number went with the version its caller put.
      const bySeq = new Map(listed?.map((v) => [v.seq, v.version]));
      for (const record of records) expect(bySeq.get(record.seq)).toBe(record.version);
    });

    it('lets several writers put versions naming the same new blobs at once, sharing their references', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open(), ctx.open()]);
      const ids = writers.map(() => sessionId());
      const blobs = freshBlobs(300, 8);
      await writers[0]?.putBlobs(blobs);
      const records = await Promise.all(
        writers.flatMap((store, w) =>
          Array.from({ length: 5 }, (_, i) => store.putVersion(newVersion(ids[w] as string, blobs, { seq: i }))),
        ),
      );
      expect(records).toHaveLength(20);
      // Deleting all but one version leaves every blob in place; deleting that one frees them all.
      const store = writers[0] as (typeof writers)[number];
      for (const [w, id] of ids.entries()) await store.deleteVersions(id, w === 0 ? [1, 2, 3, 4] : [1, 2, 3, 4, 5]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs(blobs.map((b) => b.hash))).size).toBe(300);
      await store.deleteVersions(ids[0] as string, [5]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs(blobs.map((b) => b.hash))).size).toBe(0);
    });

    it('keeps sessions apart when one instance puts versions of many sessions at once', async () => {
      const store = await ctx.open();
      const ids = Array.from({ length: 5 }, () => sessionId());
      const blobs = freshBlobs(2);
      await store.putBlobs(blobs);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.putVersion(newVersion(ids[i % 5] as string, blobs))),
      );
      for (const id of ids) {
        expect((await store.listVersions(id)).map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      }
    });

    it('stores the same new blobs from several writers at once, counting their bytes once', async () => {
      const writers = await Promise.all([ctx.open(), ctx.open(), ctx.open()]);
      const blobs = freshBlobs(20, 100);
      const added = await Promise.all(writers.map((store) => store.putBlobs(blobs)));
      expect(added.reduce((sum, n) => sum + n, 0)).toBe(20 * 100);
      const found = await writers[2]?.getBlobs(blobs.map((b) => b.hash));
      expect(found?.size).toBe(20);
    });
  });
}

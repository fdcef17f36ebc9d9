import { describe, expect, it } from 'vitest';
import { sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** listVersions: oldest first, one session only. */
export function listSpec(ctx: VersionConformanceContext): void {
  describe('listVersions', () => {
    it('lists a session’s versions oldest first, also when taken out of seq order and after deletes', async () => {
      const store = await ctx.open();
      const [id, other] = [sessionId(), sessionId()];
      const blobs = freshBlobs(1);
      await store.putBlobs(blobs);
      // Version order is the order of putVersion, not of seq.
      for (const seq of [50, 10, 30, 70, 20]) await store.putVersion(newVersion(id, blobs, { seq, label: `s${seq}` }));
      await store.putVersion(newVersion(other, blobs));
      await store.deleteVersions(id, [3]);
      const listed = await store.listVersions(id);
      expect(listed.map((v) => [v.version, v.seq, v.label])).toEqual([
        [1, 50, 's50'],
        [2, 10, 's10'],
        [4, 70, 's70'],
        [5, 20, 's20'],
      ]);
      expect(listed.every((v) => v.sessionId === id)).toBe(true);
      for (const v of listed) expect(await store.getVersion(id, v.version)).toEqual(v);
    });
  });
}

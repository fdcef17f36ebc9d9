import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rejection } from '../helpers.ts';
import { blob, freshBlobs } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** putBlobs / getBlobs: idempotent, exact bytes, only the blobs that exist. */
export function blobsSpec(ctx: VersionConformanceContext): void {
  describe('blobs', () => {
    it('is idempotent: a blob already stored adds no bytes and is left as it was', async () => {
      const store = await ctx.open();
      const [one, two, three] = freshBlobs(3, 50);
      if (!one || !two || !three) throw new Error('three blobs expected');
      expect(await store.putBlobs([one, two])).toBe(100);
      expect(await store.putBlobs([one, two])).toBe(0);
      expect(await store.putBlobs([two, three, three])).toBe(50);
      // Same hash, other bytes: the stored blob stays (the hash is the identity; the store does not re-hash).
      expect(await store.putBlobs([{ hash: one.hash, bytes: new Uint8Array([9, 9, 9]) }])).toBe(0);
      const found = await store.getBlobs([one.hash, two.hash, three.hash]);
      expect(found.get(one.hash)).toEqual(one.bytes);
      expect(found.size).toBe(3);
    });

    it('returns exactly the stored bytes, as Uint8Array, for small, empty and large blobs', async () => {
      const store = await ctx.open();
      const large = blob(new Uint8Array(randomBytes(3 * 1024 * 1024)));
      const empty = blob(new Uint8Array(0));
      const text = blob(`{"unicode":"héllo ✓ 𝄞","nul":"\u0000"}`);
      const binary = blob(new Uint8Array([0, 255, 0, 128, 10, 13]));
      await store.putBlobs([large, empty, text, binary]);
      const found = await store.getBlobs([large.hash, empty.hash, text.hash, binary.hash]);
      for (const b of [large, empty, text, binary]) {
        const bytes = found.get(b.hash);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(b.bytes))).toBe(true);
      }
    });

    it('getBlobs returns only the blobs that exist, once each', async () => {
      const store = await ctx.open();
      const [stored, missing] = freshBlobs(2);
      if (!stored || !missing) throw new Error('two blobs expected');
      await store.putBlobs([stored]);
      const found = await store.getBlobs([missing.hash, stored.hash, stored.hash]);
      expect([...found.keys()]).toEqual([stored.hash]);
      expect(await store.getBlobs([])).toEqual(new Map());
      expect(await store.putBlobs([])).toBe(0);
    });

    it('reads many blobs in one call', async () => {
      const store = await ctx.open();
      const blobs = freshBlobs(3000, 16);
      expect(await store.putBlobs(blobs)).toBe(3000 * 16);
      const found = await store.getBlobs(blobs.map((b) => b.hash));
      expect(found.size).toBe(3000);
      for (const b of blobs.slice(0, 50)) expect(found.get(b.hash)).toEqual(b.bytes);
    });

    it('refuses a malformed hash or blob with INVALID_ARGUMENT', async () => {
      const store = await ctx.open();
      await rejection(store.putBlobs([{ hash: 'not-a-hash', bytes: new Uint8Array(1) }]), 'INVALID_ARGUMENT');
      await rejection(store.putBlobs([{ hash: 'A'.repeat(64), bytes: new Uint8Array(1) }]), 'INVALID_ARGUMENT');
      await rejection(store.putBlobs([{ hash: 'a'.repeat(64), bytes: 'text' as never }]), 'INVALID_ARGUMENT');
      await rejection(store.getBlobs(['x']), 'INVALID_ARGUMENT');
      await rejection(store.getBlobs('a'.repeat(64) as never), 'INVALID_ARGUMENT');
    });
  });
}

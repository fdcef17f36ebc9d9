import { describe, expect, it } from 'vitest';
import type { Blob } from '../../../../src/store/index.ts';
import { rejection, sessionId } from '../helpers.ts';
import { blob, freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** A page naming `children`, with contents no other test uses. */
function page(children: readonly Blob[]): Blob {
  const hashes = children.map((c) => c.hash);
  return { ...blob(`page ${Math.random()} ${hashes.join(',')}`), links: hashes };
}

/**
 * Blobs that name blobs (a version's tree of pages): a version names its root, and keeps
 * everything the root reaches; compaction drops a tree with the last version that reaches it.
 */
export function linksSpec(ctx: VersionConformanceContext): void {
  describe('blob links (a version names its root page)', () => {
    it('keeps what a named root reaches, and drops exactly what no remaining version reaches', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const [l1, l2, l3, l4, l5] = freshBlobs(5);
      if (!l1 || !l2 || !l3 || !l4 || !l5) throw new Error('five blobs expected');
      const pa = page([l1, l2]);
      const pb = page([l3, l4]);
      const r1 = page([pa, pb]);
      // Children and parents in one call, in any order.
      await store.putBlobs([r1, pb, pa, l4, l3, l2, l1]);
      await store.putVersion(newVersion(id, [r1])); // 1
      // The next version changed l4 into l5: it adds one leaf, one page and a root.
      const pb2 = page([l3, l5]);
      const r2 = page([pa, pb2]);
      expect(await store.putBlobs([l5, pb2, r2])).toBe(
        l5.bytes.byteLength + pb2.bytes.byteLength + r2.bytes.byteLength,
      );
      await store.putVersion(newVersion(id, [r2])); // 2
      const all = [l1, l2, l3, l4, l5, pa, pb, r1, pb2, r2];
      const hashes = all.map((b) => b.hash);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs(hashes)).size).toBe(all.length);
      await store.deleteVersions(id, [1]);
      await store.deleteUnreferencedBlobs();
      expect([...(await store.getBlobs(hashes)).keys()].sort()).toEqual(
        [l1, l2, l3, l5, pa, pb2, r2].map((b) => b.hash).sort(),
      );
      // What is left still reads back as stored.
      expect((await store.getBlobs([l5.hash])).get(l5.hash)).toEqual(l5.bytes);
      await store.deleteVersions(id, [2]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs(hashes)).size).toBe(0);
    });

    it('refuses a page naming a blob that is not stored, and stores nothing of the call', async () => {
      const store = await ctx.open();
      const [stored, absent, other] = freshBlobs(3);
      if (!stored || !absent || !other) throw new Error('three blobs expected');
      await store.putBlobs([stored]);
      const bad = page([stored, absent]);
      const error = await rejection(store.putBlobs([other, bad]), 'INVALID_ARGUMENT');
      expect(error.message).toContain(absent.hash);
      expect(error.retryable).toBe(true);
      expect((await store.getBlobs([bad.hash, other.hash])).size).toBe(0);
      // With the missing blob in the same call, it is stored.
      expect(await store.putBlobs([bad, absent])).toBe(bad.bytes.byteLength + absent.bytes.byteLength);
    });

    it('drops a tree put but not yet named by compaction; a version naming its root is then refused', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const [l1, l2] = freshBlobs(2);
      if (!l1 || !l2) throw new Error('two blobs expected');
      const root = page([l1, l2]);
      await store.putBlobs([l1, l2, root]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs([l1.hash, l2.hash, root.hash])).size).toBe(0);
      const error = await rejection(store.putVersion(newVersion(id, [root])), 'INVALID_ARGUMENT');
      expect(error.retryable).toBe(true);
      // A page whose children a compaction removed is refused too, so a retry puts everything.
      await store.putBlobs([l1]);
      await rejection(store.putBlobs([page([l1, l2])]), 'INVALID_ARGUMENT');
      await store.putBlobs([l1, l2, root]);
      expect((await store.putVersion(newVersion(id, [root]))).version).toBe(1);
    });

    it('gives a blob stored without links its links when put again with them', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const [leaf] = freshBlobs(1);
      if (!leaf) throw new Error('one blob expected');
      const linked = page([leaf]);
      const { links: _links, ...plain } = linked;
      // Stored as an import or an older build stores it: bytes only, every blob named.
      await store.putBlobs([leaf, plain]);
      await store.putVersion(newVersion(id, [plain, leaf])); // 1
      // Put again with its links: no new bytes, and a version naming only it now keeps the leaf.
      expect(await store.putBlobs([linked])).toBe(0);
      await store.putVersion(newVersion(id, [linked])); // 2
      await store.deleteVersions(id, [1]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs([leaf.hash, linked.hash])).size).toBe(2);
      await store.deleteVersions(id, [2]);
      await store.deleteUnreferencedBlobs();
      expect((await store.getBlobs([leaf.hash, linked.hash])).size).toBe(0);
    });

    it('lets several writers put the same tree at once, in any order, counting its bytes once', async () => {
      const stores = await Promise.all([ctx.open(), ctx.open(), ctx.open(), ctx.open()]);
      const leaves = freshBlobs(200);
      const pages = Array.from({ length: 10 }, (_, i) => page(leaves.slice(i * 20, i * 20 + 20)));
      const root = page(pages);
      const all = [...leaves, ...pages, root];
      const orders = [
        all,
        [...all].reverse(),
        [root, ...pages, ...leaves],
        [...leaves].reverse().concat(pages, [root]),
      ];
      const added = await Promise.all(stores.map((store, i) => store.putBlobs(orders[i] as Blob[])));
      expect(added.reduce((sum, n) => sum + n, 0)).toBe(all.reduce((sum, b) => sum + b.bytes.byteLength, 0));
      const id = sessionId();
      const versions = await Promise.all(stores.map((store) => store.putVersion(newVersion(id, [root]))));
      expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
      await stores[0]?.deleteUnreferencedBlobs();
      expect((await stores[0]?.getBlobs(all.map((b) => b.hash)))?.size).toBe(all.length);
    });

    it('refuses malformed links with INVALID_ARGUMENT', async () => {
      const store = await ctx.open();
      const [leaf] = freshBlobs(1);
      if (!leaf) throw new Error('one blob expected');
      await rejection(store.putBlobs([{ ...leaf, links: ['short'] }]), 'INVALID_ARGUMENT');
      await rejection(store.putBlobs([{ ...leaf, links: 'x' as never }]), 'INVALID_ARGUMENT');
      expect((await store.getBlobs([leaf.hash])).size).toBe(0);
    });
  });
}

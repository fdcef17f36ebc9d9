import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PayloadBlob } from '../../../../src/store/index.ts';
import { events, rejection, sessionId } from '../helpers.ts';
import { freshBlobs, newVersion } from './helpers.ts';
import type { VersionConformanceContext } from './types.ts';

/** A payload blob of `text` (unique unless the caller repeats the text). */
function payload(text = `payload ${randomBytes(16).toString('hex')}`): PayloadBlob {
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
}

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'));

/** Payload blobs: content-addressed, read only through a session that references them, kept by compaction. */
export function payloadsSpec(ctx: VersionConformanceContext): void {
  describe('payload blobs', () => {
    it('stores a payload once, counts new bytes only, and reads it back through the session', async () => {
      const store = await ctx.open();
      const [a, b] = [sessionId(), sessionId()];
      const one = payload('x'.repeat(70_000));
      expect(await store.payloads.putPayloads(a, [one, one])).toBe(70_000);
      expect(await store.payloads.putPayloads(a, [one])).toBe(0);
      // A second session referencing the same bytes adds no bytes, only its reference.
      expect(await store.payloads.putPayloads(b, [one])).toBe(0);
      expect(text(await store.payloads.getPayload(a, one.hash))).toBe('x'.repeat(70_000));
      expect(text(await store.payloads.getPayload(b, one.hash))).toBe('x'.repeat(70_000));
      expect(await store.payloads.listPayloads(a)).toEqual([one.hash]);
      expect(await store.payloads.putPayloads(a, [])).toBe(0);
    });

    it("never returns another session's payload, whatever hash is asked for", async () => {
      const store = await ctx.open();
      const [owner, thief] = [sessionId(), sessionId()];
      const secret = payload();
      await store.payloads.putPayloads(owner, [secret]);
      await store.payloads.putPayloads(thief, [payload()]);
      expect(await store.payloads.getPayload(thief, secret.hash)).toBeUndefined();
      expect(await store.payloads.listPayloads(thief)).not.toContain(secret.hash);
      expect(await store.payloads.getPayload(sessionId(), secret.hash)).toBeUndefined();
      expect(await store.payloads.listPayloads(sessionId())).toEqual([]);
    });

    it('refuses bytes under a hash that is not theirs, bad hashes and bad session ids', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const real = payload('the real value');
      const forged = { hash: real.hash, bytes: new Uint8Array(Buffer.from('a planted value')) };
      await rejection(store.payloads.putPayloads(id, [forged]), 'INVALID_ARGUMENT');
      // Nothing of a refused call is stored: the real value can still be put and read.
      expect(await store.payloads.getPayload(id, real.hash)).toBeUndefined();
      await store.payloads.putPayloads(id, [real]);
      expect(text(await store.payloads.getPayload(id, real.hash))).toBe('the real value');
      await rejection(store.payloads.putPayloads(id, [{ hash: 'abc', bytes: real.bytes }]), 'INVALID_ARGUMENT');
      await rejection(store.payloads.putPayloads(id, [{ hash: real.hash, bytes: 'x' as never }]), 'INVALID_ARGUMENT');
      await rejection(store.payloads.putPayloads('', [real]), 'INVALID_ARGUMENT');
      await rejection(store.payloads.getPayload(id, '../../etc/passwd'), 'INVALID_ARGUMENT');
      await rejection(store.payloads.getPayload(id, real.hash.toUpperCase()), 'INVALID_ARGUMENT');
    });

    it("compaction keeps what a session references and drops a deleted session's", async () => {
      const store = await ctx.open();
      const [kept, gone] = [sessionId(), sessionId()];
      const [mine, shared, theirs] = [payload(), payload(), payload()];
      await store.append(gone, events(1));
      await store.payloads.putPayloads(kept, [mine, shared]);
      await store.payloads.putPayloads(gone, [shared, theirs]);
      // A version blob beside them is not confused with them either way.
      const [loose] = freshBlobs(1);
      if (!loose) throw new Error('a blob expected');
      await store.putBlobs([loose]);
      await store.putVersion(newVersion(kept, [loose]));
      expect(await store.deleteUnreferencedBlobs()).toBeGreaterThanOrEqual(0);
      for (const p of [mine, shared]) expect(text(await store.payloads.getPayload(kept, p.hash))).toBeDefined();
      expect(text(await store.payloads.getPayload(gone, theirs.hash))).toBeDefined();
      expect((await store.getBlobs([loose.hash])).size).toBe(1);

      expect(await store.deleteSession(gone)).toBe(1);
      expect(await store.payloads.listPayloads(gone)).toEqual([]);
      expect(await store.payloads.getPayload(gone, shared.hash)).toBeUndefined();
      expect(await store.deleteUnreferencedBlobs()).toBeGreaterThanOrEqual(1); // theirs, at least
      expect(text(await store.payloads.getPayload(kept, shared.hash))).toBe(text(shared.bytes));
      // `theirs` is gone from the database: a session putting it again stores its bytes anew.
      expect(await store.payloads.putPayloads(kept, [theirs])).toBe(theirs.bytes.byteLength);
    });

    it('survives a reopen', async () => {
      const id = sessionId();
      const one = payload();
      const first = await ctx.open();
      await first.payloads.putPayloads(id, [one]);
      await first.close();
      const again = await ctx.reopen();
      expect(text(await again.payloads.getPayload(id, one.hash))).toBe(text(one.bytes));
    });
  });
}

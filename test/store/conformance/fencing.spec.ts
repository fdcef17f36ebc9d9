import { describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../../src/errors/index.ts';
import type { OrchestratorEvent } from '../../../src/events/index.ts';
import { events, expectContiguous, owner, rejection, sessionId, sleep } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

const LIVE_MS = 60_000;

/** Fenced appends: the store itself refuses a token that is no longer the session's. */
export function fencingSpec(ctx: ConformanceContext): void {
  describe('fencing tokens', () => {
    it('creates a session: acquire first, then append with expectedLastSeq 0 and the token', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      const first = await store.append(id, events(2), { expectedLastSeq: 0, fencingToken: lease.token });
      expect(first.map((e) => e.seq)).toEqual([1, 2]);
      expect((await store.append(id, events(1), { fencingToken: lease.token }))[0]?.seq).toBe(3);
    });

    it('refuses a stale token with LEASE_LOST and writes nothing; unfenced appends still go in', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease: old } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      await store.append(id, events(1), { fencingToken: old.token });
      const { lease: current } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS, takeOver: () => true });
      const error = await rejection(store.append(id, events(3), { fencingToken: old.token }), 'LEASE_LOST');
      expect(error.details).toMatchObject({ sessionId: id, token: old.token, currentToken: current.token });
      expect(error.retryable).toBe(false);
      // Refused before its expectation is looked at, which would otherwise hold.
      await rejection(store.append(id, events(1), { fencingToken: old.token, expectedLastSeq: 1 }), 'LEASE_LOST');
      expect(await store.lastSeq(id)).toBe(1);
      // Appends from outside the owner are not fenced.
      expect((await store.append(id, events(1)))[0]?.seq).toBe(2);
      expect((await store.append(id, events(1), { fencingToken: current.token }))[0]?.seq).toBe(3);
    });

    it('refuses the token of a released lease, and any token on a session never leased', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      await store.releaseLease(lease);
      const error = await rejection(store.append(id, events(1), { fencingToken: lease.token }), 'LEASE_LOST');
      expect(error.details).toMatchObject({ token: lease.token, currentToken: null });
      const never = sessionId();
      await rejection(store.append(never, events(1), { fencingToken: 1 }), 'LEASE_LOST');
      expect(await store.lastSeq(id)).toBe(0);
      expect(await store.lastSeq(never)).toBe(0);
      expect((await store.listSessions({ limit: 1000 })).map((s) => s.sessionId)).not.toContain(never);
    });

    it('accepts the token of an expired lease nobody took over', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: 50 });
      await sleep(120);
      expect((await store.append(id, events(1), { fencingToken: lease.token }))[0]?.seq).toBe(1);
    });

    it('checks the token of an empty append too', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      expect(await store.append(id, [], { fencingToken: lease.token })).toEqual([]);
      await rejection(store.append(id, [], { fencingToken: lease.token + 1 }), 'LEASE_LOST');
    });

    it('refuses only the fenced append in a batch; the others commit without a gap', async () => {
      const store = await ctx.open();
      const [id, other] = [sessionId(), sessionId()];
      const { lease: old } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS, takeOver: () => true });
      const { lease: otherLease } = await store.acquireLease(other, owner(), { ttlMs: LIVE_MS });
      const outcomes = await Promise.allSettled([
        store.append(id, events(1, 'a')),
        store.append(id, events(2, 'stale'), { fencingToken: old.token }),
        store.append(id, events(1, 'b'), { fencingToken: lease.token }),
        store.append(other, events(1, 'o'), { fencingToken: otherLease.token, expectedLastSeq: 0 }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(((outcomes[1] as PromiseRejectedResult).reason as OrchestratorError).code).toBe('LEASE_LOST');
      const all = await store.read(id);
      expectContiguous(all);
      expect(all.map((e) => (e.data as { text: string }).text)).toEqual(['a:0', 'b:0']);
      expect(await store.lastSeq(other)).toBe(1);
    });

    it('shuts a zombie out: its lease lapsed, another store took over, its writes and renewal are refused', async () => {
      const [zombieStore, heirStore] = await Promise.all([ctx.open(), ctx.open()]);
      if (!zombieStore || !heirStore) throw new Error('two stores expected');
      const id = sessionId();
      const { lease: zombie } = await zombieStore.acquireLease(id, owner('host-a', 1), { ttlMs: 60 });
      await zombieStore.append(id, events(2, 'z'), { expectedLastSeq: 0, fencingToken: zombie.token });
      await sleep(150); // frozen (SIGSTOP) past its lease
      const heir = await heirStore.acquireLease(id, owner('host-b', 2), { ttlMs: LIVE_MS });
      expect(heir.previous).toEqual(zombie);
      expect(heir.lease.token).toBe(zombie.token + 1);
      // The zombie wakes and carries on as if nothing happened.
      await rejection(zombieStore.append(id, events(1, 'late'), { fencingToken: zombie.token }), 'LEASE_LOST');
      await rejection(zombieStore.renewLease(zombie, LIVE_MS), 'LEASE_LOST');
      await rejection(zombieStore.acquireLease(id, { ...zombie }, { ttlMs: LIVE_MS }), 'SESSION_BUSY');
      const next = await heirStore.append(id, events(1, 'h'), { expectedLastSeq: 2, fencingToken: heir.lease.token });
      expect(next[0]?.seq).toBe(3);
      expect((await zombieStore.read(id)).map((e) => (e.data as { text: string }).text)).toEqual(['z:0', 'z:1', 'h:0']);
    });

    it('orders a takeover strictly before or after each fenced append, never between check and commit', async () => {
      const [ownerStore, heirStore] = await Promise.all([ctx.open(), ctx.open()]);
      if (!ownerStore || !heirStore) throw new Error('two stores expected');
      // A few rounds: the window a broken store would leave open is a few milliseconds wide.
      for (let round = 0; round < 4; round++) {
        const id = sessionId();
        const { lease } = await ownerStore.acquireLease(id, owner(), { ttlMs: LIVE_MS });
        const written: OrchestratorEvent[] = [];
        let refused = false;
        const writer = (async () => {
          for (let i = 0; i < 400 && !refused; i++) {
            // Large appends in flight at once, so a batch is being written when the takeover lands.
            const batch = await Promise.allSettled(
              [0, 1, 2].map(() => ownerStore.append(id, events(100, `w${i}`), { fencingToken: lease.token })),
            );
            for (const outcome of batch) {
              if (outcome.status === 'fulfilled') {
                expect(refused, 'no fenced append commits after one was refused').toBe(false);
                written.push(...outcome.value);
              } else {
                expect((outcome.reason as OrchestratorError).code).toBe('LEASE_LOST');
                refused = true;
              }
            }
          }
        })();
        await sleep(20 + round * 7);
        const heir = await heirStore.acquireLease(id, owner(), { ttlMs: LIVE_MS, takeOver: () => true });
        // What the heir finds once it owns the session is final: the old owner adds nothing to it.
        const found = await heirStore.lastSeq(id);
        await writer;
        expect(refused).toBe(true);
        expect(written.length).toBeGreaterThan(0);
        expect(Math.max(...written.map((e) => e.seq))).toBeLessThanOrEqual(found);
        expect(await heirStore.lastSeq(id)).toBe(found);
        const [next] = await heirStore.append(id, events(1, 'heir'), { fencingToken: heir.lease.token });
        expect(next?.seq).toBe(found + 1);
      }
    });

    it('refuses a bad fencing token with INVALID_ARGUMENT', async () => {
      const store = await ctx.open();
      const id = sessionId();
      for (const bad of [0, -1, 1.5, '1', null]) {
        const error = await rejection(store.append(id, events(1), { fencingToken: bad as never }), 'INVALID_ARGUMENT');
        expect(error.details.field).toBe('options.fencingToken');
      }
    });
  });
}

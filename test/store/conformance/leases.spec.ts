import { describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../../src/errors/index.ts';
import type { Lease } from '../../../src/store/index.ts';
import { events, owner, rejection, sessionId, sleep } from './helpers.ts';
import type { ConformanceContext } from './types.ts';

/** Long enough never to lapse during a test. */
const LIVE_MS = 60_000;
/** Short enough to lapse after {@link LAPSE_WAIT_MS} of real time. */
const SHORT_MS = 60;
const LAPSE_WAIT_MS = 150;

function ms(iso: string): number {
  return Date.parse(iso);
}

/** Session leases: one live owner per session, tokens that only grow, takeover of the dead. */
export function leasesSpec(ctx: ConformanceContext): void {
  describe('leases', () => {
    it('acquires a free session with token 1 and reads it back', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const me = owner();
      expect(await store.getLease(id)).toBeUndefined();
      const before = Date.now();
      const { lease, previous } = await store.acquireLease(id, me, { ttlMs: LIVE_MS });
      expect(previous).toBeUndefined();
      expect(lease).toMatchObject({ sessionId: id, ...me, token: 1 });
      expect(Math.abs(ms(lease.expiresAt) - ms(lease.acquiredAt) - LIVE_MS)).toBeLessThanOrEqual(1);
      expect(ms(lease.acquiredAt)).toBeGreaterThan(before - 5_000);
      expect(await store.getLease(id)).toEqual(lease);
      // A lease needs no events: the session has none yet.
      expect(await store.lastSeq(id)).toBe(0);
    });

    it('refuses a second live owner with SESSION_BUSY naming the holder', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner('host-a', 101), { ttlMs: LIVE_MS });
      const error = await rejection(store.acquireLease(id, owner('host-b', 202), { ttlMs: LIVE_MS }), 'SESSION_BUSY');
      expect(error.details).toEqual({
        sessionId: id,
        ownerId: lease.ownerId,
        host: 'host-a',
        pid: 101,
        acquiredAt: lease.acquiredAt,
        expiresAt: lease.expiresAt,
      });
      expect(error.retryable).toBe(false);
      expect(error.status).toBe(409);
      expect(await store.getLease(id)).toEqual(lease);
    });

    it('renews, with the same token, when the holder acquires again', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const me = owner();
      const first = await store.acquireLease(id, me, { ttlMs: 1_000 });
      await sleep(5);
      const again = await store.acquireLease(id, me, { ttlMs: LIVE_MS });
      expect(again.previous).toBeUndefined();
      expect(again.lease.token).toBe(first.lease.token);
      expect(again.lease.acquiredAt).toBe(first.lease.acquiredAt);
      expect(ms(again.lease.expiresAt)).toBeGreaterThan(ms(first.lease.expiresAt));
      expect(await store.getLease(id)).toEqual(again.lease);
    });

    it('takes over an expired lease with the next token and reports the one it replaced', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const old = await store.acquireLease(id, owner('host-a'), { ttlMs: SHORT_MS });
      await sleep(LAPSE_WAIT_MS);
      // Expired but nobody took it: still the session's lease.
      expect(await store.getLease(id)).toEqual(old.lease);
      let asked = false;
      const next = await store.acquireLease(id, owner('host-b'), {
        ttlMs: LIVE_MS,
        takeOver: () => {
          asked = true;
          return false;
        },
      });
      expect(asked).toBe(false);
      expect(next.lease.token).toBe(old.lease.token + 1);
      expect(next.lease.host).toBe('host-b');
      expect(next.previous).toEqual(old.lease);
      expect(await store.getLease(id)).toEqual(next.lease);
    });

    it('takes a live lease over only when takeOver, shown the current lease, says so', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease: held } = await store.acquireLease(id, owner('host-a', 7), { ttlMs: LIVE_MS });
      const seen: Lease[] = [];
      await rejection(
        store.acquireLease(id, owner(), {
          ttlMs: LIVE_MS,
          takeOver: (current) => {
            seen.push(current);
            return false;
          },
        }),
        'SESSION_BUSY',
      );
      expect(seen).toEqual([held]);
      const taken = await store.acquireLease(id, owner('host-a', 8), {
        ttlMs: LIVE_MS,
        takeOver: (current) => current.host === 'host-a' && current.pid === 7,
      });
      expect(taken.previous).toEqual(held);
      expect(taken.lease).toMatchObject({ token: held.token + 1, pid: 8 });
    });

    it('renews: same token, later expiry; an expired lease nobody took is renewed too', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: SHORT_MS });
      await sleep(LAPSE_WAIT_MS);
      const renewed = await store.renewLease(lease, LIVE_MS);
      expect(renewed).toMatchObject({ sessionId: id, token: lease.token, ownerId: lease.ownerId });
      expect(renewed.acquiredAt).toBe(lease.acquiredAt);
      expect(ms(renewed.expiresAt)).toBeGreaterThan(ms(lease.expiresAt) + LIVE_MS / 2);
      expect(await store.getLease(id)).toEqual(renewed);
      // Live again: another owner is refused.
      await rejection(store.acquireLease(id, owner(), { ttlMs: LIVE_MS }), 'SESSION_BUSY');
    });

    it('refuses to renew a lease that was taken over, with LEASE_LOST', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease: mine } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      const { lease: theirs } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS, takeOver: () => true });
      const error = await rejection(store.renewLease(mine, LIVE_MS), 'LEASE_LOST');
      expect(error.details).toMatchObject({ sessionId: id, token: mine.token, currentToken: theirs.token });
      expect(error.retryable).toBe(false);
      expect(await store.getLease(id)).toEqual(theirs);
    });

    it('releases: the session is free, the token counter stays, a stale release changes nothing', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease: first } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      await store.releaseLease(first);
      expect(await store.getLease(id)).toBeUndefined();
      await rejection(store.renewLease(first, LIVE_MS), 'LEASE_LOST');
      const second = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      expect(second.previous).toBeUndefined();
      expect(second.lease.token).toBe(first.token + 1);
      // Releasing the old lease again, or twice, touches nobody else's.
      await store.releaseLease(first);
      expect(await store.getLease(id)).toEqual(second.lease);
      await store.releaseLease(second.lease);
      await store.releaseLease(second.lease);
      const third = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      expect(third.lease.token).toBe(second.lease.token + 1);
    });

    it('lets exactly one of two stores racing for a session win', async () => {
      const [a, b] = await Promise.all([ctx.open(), ctx.open()]);
      if (!a || !b) throw new Error('two stores expected');
      for (let round = 0; round < 5; round++) {
        const id = sessionId();
        const outcomes = await Promise.allSettled([
          a.acquireLease(id, owner('host-a'), { ttlMs: LIVE_MS }),
          b.acquireLease(id, owner('host-b'), { ttlMs: LIVE_MS }),
        ]);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost.map((o) => (o.reason as OrchestratorError).code)).toEqual(['SESSION_BUSY']);
        const winner = (won[0] as PromiseFulfilledResult<{ lease: Lease }>).value.lease;
        expect(winner.token).toBe(1);
        expect(await b.getLease(id)).toEqual(winner);
      }
    });

    it('goes with deleteSession', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      await store.append(id, events(2), { fencingToken: lease.token });
      expect(await store.deleteSession(id)).toBe(2);
      expect(await store.getLease(id)).toBeUndefined();
      const fresh = await store.acquireLease(id, owner(), { ttlMs: LIVE_MS });
      expect(fresh.previous).toBeUndefined();
      // A lease without events is deleted too.
      const empty = sessionId();
      await store.acquireLease(empty, owner(), { ttlMs: LIVE_MS });
      expect(await store.deleteSession(empty)).toBe(0);
      expect(await store.getLease(empty)).toBeUndefined();
    });

    it('refuses bad arguments with INVALID_ARGUMENT naming the field, and every call once closed', async () => {
      const store = await ctx.open();
      const id = sessionId();
      const me = owner();
      const field = async (call: Promise<unknown>) => (await rejection(call, 'INVALID_ARGUMENT')).details.field;
      expect(await field(store.acquireLease(id, me, { ttlMs: 0 }))).toBe('options.ttlMs');
      expect(await field(store.acquireLease(id, me, { ttlMs: 1.5 }))).toBe('options.ttlMs');
      expect(await field(store.acquireLease(id, me, { ttlMs: '100' as never }))).toBe('options.ttlMs');
      expect(await field(store.acquireLease(id, me, undefined as never))).toBe('options');
      expect(await field(store.acquireLease(id, me, { ttlMs: 10, takeover: true } as never))).toBe('options.takeover');
      expect(await field(store.acquireLease(id, me, { ttlMs: 10, takeOver: true as never }))).toBe('options.takeOver');
      expect(await field(store.acquireLease(id, { ...me, ownerId: '' }, { ttlMs: 10 }))).toBe('owner.ownerId');
      expect(await field(store.acquireLease(id, { ...me, host: '' }, { ttlMs: 10 }))).toBe('owner.host');
      expect(await field(store.acquireLease(id, { ...me, pid: 0 }, { ttlMs: 10 }))).toBe('owner.pid');
      expect(await field(store.acquireLease(id, { ...me, pid: 1.5 }, { ttlMs: 10 }))).toBe('owner.pid');
      expect(await field(store.acquireLease('', me, { ttlMs: 10 }))).toBe('sessionId');
      const { lease } = await store.acquireLease(id, me, { ttlMs: LIVE_MS });
      expect(await field(store.renewLease(lease, -1))).toBe('ttlMs');
      expect(await field(store.renewLease({ ...lease, token: 'x' as never }, 10))).toBe('lease.token');
      expect(await field(store.releaseLease({ ...lease, sessionId: '' }))).toBe('lease.sessionId');
      expect(await field(store.getLease(42 as never))).toBe('sessionId');
      expect(await store.getLease(id)).toEqual(lease);
      await store.close();
      await rejection(store.acquireLease(id, me, { ttlMs: 10 }), 'STORE_CLOSED');
      await rejection(store.renewLease(lease, 10), 'STORE_CLOSED');
      await rejection(store.releaseLease(lease), 'STORE_CLOSED');
      await rejection(store.getLease(id), 'STORE_CLOSED');
    });
  });
}

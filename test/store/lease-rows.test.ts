import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/store/index.ts';
import { checkAcquireOptions, checkLeaseOwner, decideAcquire } from '../../src/store/lease-rows.ts';

const held: Lease = {
  sessionId: 's',
  token: 4,
  ownerId: 'owner-a',
  host: 'host-a',
  pid: 10,
  acquiredAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T00:01:00.000Z',
};
const me = { ownerId: 'owner-b', host: 'host-b', pid: 20 };

describe('decideAcquire', () => {
  it('takes a session that has no lease with token 1, and a released one with the next token', () => {
    expect(decideAcquire(undefined, false, me, undefined)).toEqual({ kind: 'take', token: 1, previous: undefined });
    expect(decideAcquire({ lease: held, released: true }, true, me, () => false)).toEqual({
      kind: 'take',
      token: 5,
      previous: undefined,
    });
  });

  it('renews for the holder itself, live or expired', () => {
    const self = { ownerId: 'owner-a', host: 'elsewhere', pid: 1 };
    expect(decideAcquire({ lease: held, released: false }, true, self, undefined)).toEqual({ kind: 'renew' });
    expect(decideAcquire({ lease: held, released: false }, false, self, undefined)).toEqual({ kind: 'renew' });
  });

  it('replaces an expired lease without asking, and a live one only when takeOver agrees', () => {
    const asked: Lease[] = [];
    const ask = (answer: boolean) => (current: Lease) => {
      asked.push(current);
      return answer;
    };
    const row = { lease: held, released: false };
    expect(decideAcquire(row, false, me, ask(false))).toEqual({ kind: 'take', token: 5, previous: held });
    expect(asked).toEqual([]);
    expect(decideAcquire(row, true, me, ask(true))).toEqual({ kind: 'take', token: 5, previous: held });
    const busy = decideAcquire(row, true, me, ask(false));
    expect(asked).toEqual([held, held]);
    expect(busy.kind).toBe('busy');
    if (busy.kind !== 'busy') return;
    expect(busy.error.code).toBe('SESSION_BUSY');
    expect(busy.error.details).toEqual({
      sessionId: 's',
      ownerId: 'owner-a',
      host: 'host-a',
      pid: 10,
      acquiredAt: held.acquiredAt,
      expiresAt: held.expiresAt,
    });
    expect(decideAcquire(row, true, me, undefined).kind).toBe('busy');
  });
});

describe('lease argument checks', () => {
  it('name the bad field and what arrived', () => {
    const fieldOf = (work: () => unknown) => {
      try {
        work();
      } catch (error) {
        return (error as { code: string; details: { field: string } }).details.field;
      }
      return undefined;
    };
    expect(fieldOf(() => checkLeaseOwner(null))).toBe('owner');
    expect(fieldOf(() => checkLeaseOwner({ ...me, ownerId: 'x'.repeat(256) }))).toBe('owner.ownerId');
    expect(fieldOf(() => checkLeaseOwner({ ...me, pid: '20' }))).toBe('owner.pid');
    expect(fieldOf(() => checkAcquireOptions({ ttlMs: 2 ** 31 }))).toBe('options.ttlMs');
    expect(checkLeaseOwner({ ...me, extra: 1 })).toEqual(me);
    expect(checkAcquireOptions({ ttlMs: 1 })).toEqual({ ttlMs: 1 });
  });
});

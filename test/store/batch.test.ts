import { describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { type OrchestratorEvent, prepareEvent } from '../../src/events/index.ts';
import { type AppendRequest, fencedSessionsOf, planBatch, sessionsOf, toAppendRequest } from '../../src/store/batch.ts';

function request(sessionId: string, count: number, expectedLastSeq?: number): AppendRequest {
  const events = Array.from({ length: count }, (_, i) =>
    prepareEvent({ type: 'user.input', data: { value: `${sessionId}:${i}` } }),
  );
  return toAppendRequest(sessionId, events, expectedLastSeq === undefined ? undefined : { expectedLastSeq });
}

describe('planBatch', () => {
  it('numbers requests in queue order on top of each session’s current last seq', () => {
    const rows: Array<[string, number]> = [];
    const plan = planBatch(
      [request('a', 2), request('b', 1), request('a', 1)],
      new Map([['a', 10]]),
      (sessionId, seq) => rows.push([sessionId, seq]),
    );
    expect(rows).toEqual([
      ['a', 11],
      ['a', 12],
      ['b', 1],
      ['a', 13],
    ]);
    expect([...plan.lastSeqs]).toEqual([
      ['a', 13],
      ['b', 1],
    ]);
    expect(plan.outcomes.map((o) => (Array.isArray(o) ? o.map((e) => e.seq) : o.code))).toEqual([[11, 12], [1], [13]]);
  });

  it('checks expectations against earlier requests of the same batch and skips only the refused one', () => {
    const rows: number[] = [];
    const plan = planBatch(
      [request('a', 1, 0), request('a', 1, 0), request('a', 1, 1), request('c', 1, 3)],
      new Map(),
      (_, seq) => rows.push(seq),
    );
    const codes = plan.outcomes.map((o) => (Array.isArray(o) ? 'ok' : o.code));
    expect(codes).toEqual(['ok', 'SEQUENCE_CONFLICT', 'ok', 'SEQUENCE_CONFLICT']);
    expect(rows).toEqual([1, 2]);
    expect(plan.lastSeqs.has('c')).toBe(false);
    expect((plan.outcomes[1] as { details: unknown }).details).toEqual({ sessionId: 'a', expected: 0, actual: 1 });
  });

  it('hands each row a checksum and returns committed events that carry the given payload', () => {
    const checksums: number[] = [];
    const req = request('a', 2);
    const plan = planBatch([req], new Map(), (_s, _q, _e, _d, checksum) => checksums.push(checksum));
    expect(new Set(checksums).size).toBe(2);
    const [events] = plan.outcomes as [OrchestratorEvent[]];
    expect(events.map((e) => e.data)).toEqual(req.payloads.map((text) => JSON.parse(text)));
    expect(events.map((e) => e.id)).toEqual(req.events.map((e) => e.id));
    expect(events[0]?.sessionId).toBe('a');
  });
});

describe('planBatch with fencing tokens', () => {
  const fenced = (sessionId: string, fencingToken: number, expectedLastSeq?: number): AppendRequest => ({
    ...request(sessionId, 1, expectedLastSeq),
    fencingToken,
  });

  it('refuses alone, with LEASE_LOST, a request whose token is not the session’s current one', () => {
    const rows: Array<[string, number]> = [];
    const plan = planBatch(
      [fenced('a', 3), fenced('a', 2), request('a', 1), fenced('b', 1), fenced('c', 1)],
      new Map([['a', 5]]),
      (sessionId, seq) => rows.push([sessionId, seq]),
      new Map([
        ['a', 3],
        ['b', 1],
      ]),
    );
    expect(plan.outcomes.map((o) => (Array.isArray(o) ? 'ok' : o.code))).toEqual([
      'ok',
      'LEASE_LOST',
      'ok',
      'ok',
      'LEASE_LOST',
    ]);
    expect(rows).toEqual([
      ['a', 6],
      ['a', 7],
      ['b', 1],
    ]);
    const lost = plan.outcomes[1] as OrchestratorError;
    expect(lost.details).toMatchObject({ sessionId: 'a', token: 2, currentToken: 3 });
    expect((plan.outcomes[4] as OrchestratorError).details).toMatchObject({ sessionId: 'c', currentToken: null });
  });

  it('checks the token before the expectation, and refuses every token when no lease was read', () => {
    const plan = planBatch([fenced('a', 1, 9)], new Map(), () => {}, new Map([['a', 2]]));
    expect((plan.outcomes[0] as OrchestratorError).code).toBe('LEASE_LOST');
    const unread = planBatch([fenced('a', 1)], new Map(), () => {});
    expect((unread.outcomes[0] as OrchestratorError).code).toBe('LEASE_LOST');
  });
});

describe('sessionsOf', () => {
  it('lists each session once, sorted, so writers lock in one order', () => {
    expect(sessionsOf([request('b', 1), request('a', 1), request('b', 1)])).toEqual(['a', 'b']);
  });

  it('lists the fenced sessions apart, and none when no request carries a token', () => {
    const token = (r: AppendRequest): AppendRequest => ({ ...r, fencingToken: 1 });
    expect(fencedSessionsOf([token(request('b', 1)), request('a', 1), token(request('b', 1))])).toEqual(['b']);
    expect(fencedSessionsOf([request('a', 1)])).toEqual([]);
  });
});

describe('toAppendRequest', () => {
  it('serializes payloads once and refuses a bad call before it joins a batch', () => {
    const [event] = Array.from({ length: 1 }, () => prepareEvent({ type: 'user.input', data: { value: 1 } }));
    expect(toAppendRequest('s', [event as never], undefined).payloads).toEqual(['{"value":1}']);
    expect(() => toAppendRequest('', [], undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => toAppendRequest('s', {} as never, undefined)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => toAppendRequest('s', [], { expectedLastSeq: 1.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(toAppendRequest('s', [], { fencingToken: 4 }).fencingToken).toBe(4);
    expect(() => toAppendRequest('s', [], { fencingToken: 0 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        details: expect.objectContaining({ field: 'options.fencingToken' }),
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { type OrchestratorEvent, prepareEvent } from '../../src/events/index.ts';
import { type AppendRequest, planBatch, sessionsOf, toAppendRequest } from '../../src/store/batch.ts';

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

describe('sessionsOf', () => {
  it('lists each session once, sorted, so writers lock in one order', () => {
    expect(sessionsOf([request('b', 1), request('a', 1), request('b', 1)])).toEqual(['a', 'b']);
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
  });
});

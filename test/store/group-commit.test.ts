import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import { type OrchestratorEvent, type PendingEvent, prepareEvent } from '../../src/events/index.ts';
import {
  type AppendOutcome,
  type AppendRequest,
  type BatchWriter,
  planBatch,
  toAppendRequest,
} from '../../src/store/batch.ts';
import type { RawRow } from '../../src/store/codec.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';

/** A writer double of the group commit's own seam: records batches, fails on demand. */
class RecordingWriter implements BatchWriter {
  readonly batches: string[][] = [];
  failWhen: (requests: readonly AppendRequest[]) => boolean = () => false;
  gate: Promise<void> | undefined;

  readonly lookups: string[][] = [];

  async readEvents(ids: readonly string[]): Promise<RawRow[]> {
    this.lookups.push([...ids]);
    return [];
  }

  async writeBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]> {
    this.batches.push(requests.map((r) => r.sessionId));
    await this.gate;
    if (this.failWhen(requests)) throw new Error('batch transaction failed');
    return requests.map((r) =>
      r.expectedLastSeq === 99
        ? new OrchestratorError('SEQUENCE_CONFLICT', 'conflict', { details: { expected: 99, actual: 0 } })
        : r.events.map((e, i) => ({ id: e.id, seq: i + 1, sessionId: r.sessionId }) as unknown as OrchestratorEvent),
    );
  }
}

function request(sessionId: string, count = 1, expectedLastSeq?: number): AppendRequest {
  const events = Array.from({ length: count }, (_, i) => ({ id: `${sessionId}-${i}` }) as PendingEvent);
  return { sessionId, events, payloads: events.map(() => '{}'), expectedLastSeq, fencingToken: undefined };
}

describe('GroupCommit', () => {
  it('writes the appends of one tick in one batch, in order, and resolves each with its events', async () => {
    const writer = new RecordingWriter();
    const commit = new GroupCommit(writer);
    const results = await Promise.all(['a', 'b', 'c'].map((s) => commit.submit(request(s, 2))));
    expect(writer.batches).toEqual([['a', 'b', 'c']]);
    expect(results.map((events) => events.map((e) => e.id))).toEqual([
      ['a-0', 'a-1'],
      ['b-0', 'b-1'],
      ['c-0', 'c-1'],
    ]);
  });

  it('caps a batch by events, lets one oversized append go alone, and writes the rest right after', async () => {
    const writer = new RecordingWriter();
    const commit = new GroupCommit(writer, { maxBatchEvents: 5 });
    await Promise.all([
      commit.submit(request('a', 2)),
      commit.submit(request('b', 3)),
      commit.submit(request('c', 1)),
      commit.submit(request('big', 9)),
      commit.submit(request('d', 1)),
    ]);
    expect(writer.batches).toEqual([['a', 'b'], ['c'], ['big'], ['d']]);
  });

  it('queues appends made while a batch is being written into the next batch', async () => {
    const writer = new RecordingWriter();
    let open: () => void = () => {};
    writer.gate = new Promise((resolve) => {
      open = resolve;
    });
    const commit = new GroupCommit(writer);
    const first = commit.submit(request('a'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([['a']]);
    const later = [commit.submit(request('b')), commit.submit(request('c'))];
    expect(commit.pending).toBe(2);
    open();
    await Promise.all([first, ...later]);
    expect(writer.batches).toEqual([['a'], ['b', 'c']]);
  });

  it('retries each append alone when the batch transaction fails, so only the culprit fails', async () => {
    const writer = new RecordingWriter();
    writer.failWhen = (requests) => requests.some((r) => r.sessionId === 'bad');
    const commit = new GroupCommit(writer);
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((s) => commit.submit(request(s))));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(writer.batches).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    const reason = (outcomes[1] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(OrchestratorError);
    expect(reason.cause).toBeInstanceOf(Error);
    // A failure that is not a lost connection has a known outcome: no lookup by id.
    expect(writer.lookups).toEqual([]);
  });

  it('rejects only the append whose outcome is an error, without a retry', async () => {
    const writer = new RecordingWriter();
    const commit = new GroupCommit(writer);
    const outcomes = await Promise.allSettled([commit.submit(request('a')), commit.submit(request('b', 1, 99))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason.code).toBe('SEQUENCE_CONFLICT');
    expect(writer.batches).toEqual([['a', 'b']]);
  });

  it('drains: resolves once everything submitted is settled, at once when idle', async () => {
    const writer = new RecordingWriter();
    const commit = new GroupCommit(writer);
    await commit.drain();
    let settled = 0;
    for (const s of ['a', 'b']) void commit.submit(request(s)).then(() => settled++);
    await commit.drain();
    await Promise.resolve();
    expect(settled).toBe(2);
    expect(commit.pending).toBe(0);
  });
});

/**
 * An in-memory log behind the group commit's seam, which can lose a batch's reply: `lose`
 * decides per batch whether the connection drops before COMMIT (nothing written), after it
 * (written, reply lost), or late (the commit lands only after the next lookup, as a server
 * still finishing the COMMIT of a dropped connection would).
 */
class MemoryLog implements BatchWriter {
  readonly rows = new Map<string, RawRow>();
  readonly lastSeqs = new Map<string, number>();
  readonly batches: number[] = [];
  readonly lookups: number[] = [];
  lose: (batch: number) => 'before-commit' | 'after-commit' | 'late-commit' | undefined = () => undefined;
  #late: (() => void) | undefined;

  async readEvents(ids: readonly string[]): Promise<RawRow[]> {
    this.lookups.push(ids.length);
    const found: RawRow[] = [];
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row !== undefined) found.push(row);
    }
    this.#late?.();
    this.#late = undefined;
    return found;
  }

  async writeBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]> {
    const loss = this.lose(this.batches.push(requests.length));
    const rows: RawRow[] = [];
    const plan = planBatch(requests, this.lastSeqs, (sessionId, seq, e, data, checksum) => {
      rows.push([
        sessionId,
        seq,
        e.id,
        e.type,
        e.ts,
        e.source,
        e.correlationId ?? null,
        e.causationId ?? null,
        data,
        checksum,
      ]);
    });
    const lost = () =>
      new OrchestratorError('STORE_UNAVAILABLE', 'Connection terminated unexpectedly', { retryable: true });
    if (loss === 'before-commit') throw lost();
    if (rows.some((row) => this.rows.has(row[2] as string))) {
      throw new OrchestratorError('EVENT_DUPLICATE', 'an event id is already stored');
    }
    const commit = () => {
      for (const row of rows) this.rows.set(row[2] as string, row);
      for (const [sessionId, seq] of plan.lastSeqs) this.lastSeqs.set(sessionId, seq);
    };
    if (loss === 'late-commit') this.#late = commit;
    else commit();
    if (loss !== undefined) throw lost();
    return plan.outcomes;
  }
}

function pending(sessionId: string, count: number, tag = sessionId): AppendRequest {
  const list = Array.from({ length: count }, (_, i) =>
    prepareEvent({ type: 'user.input', data: { value: `${tag}:${i}` } }),
  );
  return toAppendRequest(sessionId, list, undefined);
}

describe('GroupCommit after a lost connection', () => {
  it('resolves every append of a batch whose COMMIT went through but whose reply was lost, writing nothing twice', async () => {
    const log = new MemoryLog();
    log.lose = (batch) => (batch === 1 ? 'after-commit' : undefined);
    const commit = new GroupCommit(log);
    const requests = [pending('a', 2), pending('b', 1), pending('a', 1)];
    const results = await Promise.all(requests.map((r) => commit.submit(r)));
    expect(results.map((events) => events.map((e) => [e.sessionId, e.seq]))).toEqual([
      [
        ['a', 1],
        ['a', 2],
      ],
      [['b', 1]],
      [['a', 3]],
    ]);
    expect(results.map((events) => events.map((e) => e.id))).toEqual(requests.map((r) => r.events.map((e) => e.id)));
    expect(log.batches).toEqual([3]);
    expect(log.lookups).toEqual([2, 1, 1]);
    expect(log.rows.size).toBe(4);
    expect((await commit.submit(pending('a', 1)))[0]?.seq).toBe(4);
  });

  it('writes again, one by one, the appends of a batch that did not commit', async () => {
    const log = new MemoryLog();
    log.lose = (batch) => (batch === 1 ? 'before-commit' : undefined);
    const commit = new GroupCommit(log);
    const results = await Promise.all([commit.submit(pending('a', 1)), commit.submit(pending('b', 2))]);
    expect(results.map((events) => events.map((e) => e.seq))).toEqual([[1], [1, 2]]);
    expect(log.batches).toEqual([2, 1, 1]);
    expect(log.rows.size).toBe(3);
  });

  it('gives a lone append the same recheck and one more write (it used to fail at once)', async () => {
    for (const loss of ['after-commit', 'before-commit'] as const) {
      const log = new MemoryLog();
      log.lose = (batch) => (batch === 1 ? loss : undefined);
      const commit = new GroupCommit(log);
      const request = pending('a', 3);
      const events = await commit.submit(request);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(log.rows.size).toBe(3);
      expect(log.batches).toEqual(loss === 'after-commit' ? [1] : [1, 1]);
    }
  });

  it('looks again when the rewrite trips over ids of a commit that landed after the first lookup', async () => {
    const log = new MemoryLog();
    log.lose = (batch) => (batch === 1 ? 'late-commit' : undefined);
    const commit = new GroupCommit(log);
    const events = await commit.submit(pending('a', 2));
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(log.batches).toEqual([1, 1]);
    expect(log.lookups).toEqual([2, 2]);
    expect(log.rows.size).toBe(2);
  });

  it('still fails a real duplicate: an id stored as another event', async () => {
    const log = new MemoryLog();
    const commit = new GroupCommit(log);
    const [stored] = await commit.submit(pending('a', 1, 'first'));
    log.lose = (batch) => (batch === 2 ? 'before-commit' : undefined);
    const reuse = pending('b', 1, 'other');
    const clash = { ...reuse, events: [{ ...(reuse.events[0] as PendingEvent), id: stored?.id as string }] };
    const outcomes = await Promise.allSettled([commit.submit(pending('c', 1)), commit.submit(clash)]);
    expect(outcomes[0]?.status).toBe('fulfilled');
    const reason = (outcomes[1] as PromiseRejectedResult).reason as OrchestratorError;
    expect(reason.code).toBe('EVENT_DUPLICATE');
    expect(reason.details).toMatchObject({ sessionId: 'b', eventId: stored?.id, storedSessionId: 'a', storedSeq: 1 });
    expect(log.rows.size).toBe(2);
  });

  it('fails clearly when an append is found stored only in part', async () => {
    const log = new MemoryLog();
    const commit = new GroupCommit(log);
    const first = pending('a', 1);
    await commit.submit(first);
    log.lose = (batch) => (batch === 2 ? 'before-commit' : undefined);
    const more = pending('a', 1, 'more');
    const overlapping = {
      ...more,
      events: [...first.events, ...more.events],
      payloads: [...first.payloads, ...more.payloads],
    };
    const reason = await commit.submit(overlapping).catch((error: unknown) => error as OrchestratorError);
    expect(reason).toMatchObject({ code: 'STORE_CORRUPT', details: { sessionId: 'a', found: 1, total: 2 } });
    expect(log.rows.size).toBe(1);
  });
});

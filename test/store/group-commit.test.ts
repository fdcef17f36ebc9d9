import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import type { OrchestratorEvent, PendingEvent } from '../../src/events/index.ts';
import type { AppendOutcome, AppendRequest, BatchWriter } from '../../src/store/batch.ts';
import { GroupCommit } from '../../src/store/group-commit.ts';

/** A writer double of the group commit's own seam: records batches, fails on demand. */
class RecordingWriter implements BatchWriter {
  readonly batches: string[][] = [];
  failWhen: (requests: readonly AppendRequest[]) => boolean = () => false;
  gate: Promise<void> | undefined;

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
  return { sessionId, events, payloads: events.map(() => '{}'), expectedLastSeq };
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

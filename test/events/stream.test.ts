import { afterEach, describe, expect, it, vi } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import {
  EventBus,
  type EventReader,
  type EventStream,
  type OrchestratorEvent,
  type StreamItem,
  type SubscriberOverflow,
} from '../../src/events/index.ts';
import { MemoryLog, makeEvent } from '../support/memory-reader.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Pulls exactly `count` items from a stream. */
async function take<E extends OrchestratorEvent>(stream: EventStream<E>, count: number): Promise<StreamItem<E>[]> {
  const items: StreamItem<E>[] = [];
  while (items.length < count) {
    const result = await stream.next();
    if (result.done) break;
    items.push(result.value);
  }
  return items;
}

const eventSeqs = (items: readonly StreamItem[]) => items.map((i) => (i.kind === 'event' ? i.event.seq : i.kind));

afterEach(() => {
  vi.useRealTimers();
});

describe('EventBus.stream: live', () => {
  it('registers at creation, so events published before iteration starts are kept', async () => {
    const bus = new EventBus();
    const stream = bus.stream({ sessionId: 's' });
    bus.publish([makeEvent('s', 1), makeEvent('other', 1), makeEvent('s', 2)]);
    await flush();
    bus.publish([makeEvent('s', 3)]);
    expect(eventSeqs(await take(stream, 3))).toEqual([1, 2, 3]);
    stream.close();
  });

  it('filters by type and pattern and waits for later events', async () => {
    const bus = new EventBus();
    const stream = bus.stream({ pattern: '*.failed' });
    const pending = take(stream, 2);
    bus.publish([makeEvent('s', 1), makeEvent('s', 2, 'agent.failed')]);
    await flush();
    bus.publish([makeEvent('t', 1, 'agent.failed')]);
    const items = await pending;
    expect(items.map((i) => (i.kind === 'event' ? `${i.event.sessionId}${i.event.seq}` : i.kind))).toEqual([
      's2',
      't1',
    ]);
    stream.close();
  });

  it('serves concurrent next() calls one item each, in order', async () => {
    const bus = new EventBus();
    const stream = bus.stream({});
    const a = stream.next();
    const b = stream.next();
    const c = stream.next();
    bus.publish([makeEvent('s', 1), makeEvent('s', 2), makeEvent('s', 3)]);
    const results = await Promise.all([a, b, c]);
    expect(results.map((r) => (r.done ? 'done' : r.value.kind === 'event' ? r.value.event.seq : r.value.kind))).toEqual(
      [1, 2, 3],
    );
    stream.close();
  });
});

describe('EventBus.stream: ending', () => {
  it('close() ends a pending next(), is idempotent, and detaches from the bus', async () => {
    const bus = new EventBus();
    const stream = bus.stream({ sessionId: 's' }, { name: 'mine' });
    expect(bus.stats().map((s) => s.name)).toEqual(['mine']);
    const pending = stream.next();
    stream.close();
    stream.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(stream.closed).toBe(true);
    expect(bus.stats()).toEqual([]);
    bus.publish([makeEvent('s', 1)]);
    expect(stream.stats().queued).toBe(0);
  });

  it('break in for-await closes the stream', async () => {
    const bus = new EventBus();
    const stream = bus.stream({});
    bus.publish([makeEvent('s', 1), makeEvent('s', 2), makeEvent('s', 3)]);
    const seen: number[] = [];
    for await (const item of stream) {
      if (item.kind === 'event') seen.push(item.event.seq);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(stream.closed).toBe(true);
    expect(bus.stats()).toEqual([]);
  });

  it('an abort signal closes the stream, before or during iteration', async () => {
    const bus = new EventBus();
    const early = new AbortController();
    early.abort();
    const dead = bus.stream({}, { signal: early.signal });
    expect(await dead.next()).toEqual({ done: true, value: undefined });
    const controller = new AbortController();
    const stream = bus.stream({}, { signal: controller.signal });
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of stream) if (item.kind === 'event') seen.push(item.event.seq);
    })();
    bus.publish([makeEvent('s', 1)]);
    await expect.poll(() => seen).toEqual([1]);
    controller.abort();
    await consumer;
    expect(stream.closed).toBe(true);
    expect(bus.stats()).toEqual([]);
  });

  it('bus.close() ends every stream', async () => {
    const bus = new EventBus();
    const stream = bus.stream({});
    const pending = stream.next();
    bus.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(() => bus.stream({})).toThrow(/closed/);
  });
});

describe('EventBus.stream: heartbeats', () => {
  it('yields a heartbeat after heartbeatMs without events, and none while events flow', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-01T00:00:00.000Z') });
    const bus = new EventBus();
    const stream = bus.stream({}, { heartbeatMs: 1000 });
    const first = stream.next();
    await vi.advanceTimersByTimeAsync(999);
    bus.publish([makeEvent('s', 1)]);
    expect(await first).toMatchObject({ done: false, value: { kind: 'event' } });
    const second = stream.next();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await second).toEqual({ done: false, value: { kind: 'heartbeat', at: '2025-03-01T00:00:01.999Z' } });
    const third = stream.next();
    await vi.advanceTimersByTimeAsync(1000);
    expect((await third).value).toMatchObject({ kind: 'heartbeat' });
    stream.close();
  });

  it('sends no heartbeat by default', async () => {
    vi.useFakeTimers();
    const bus = new EventBus();
    const stream = bus.stream({});
    let settled = false;
    const pending = stream.next().then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(settled).toBe(false);
    stream.close();
    expect((await pending).done).toBe(true);
  });
});

describe('EventBus.stream: catch-up', () => {
  it('replays the log from fromSeq, then goes live without gap or duplicate', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    log.appendMany('s', 10);
    log.appendMany('other', 5);
    const stream = bus.stream({ sessionId: 's' }, { fromSeq: 4, reader: log, pageSize: 3 });
    // Committed after the stream registered but before it read: in the log AND the buffer.
    bus.publish(log.appendMany('s', 2));
    const items = await take(stream, 9);
    bus.publish(log.appendMany('s', 1));
    items.push(...(await take(stream, 1)));
    expect(eventSeqs(items)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(stream.stats()).toMatchObject({ delivered: 10, missed: 0 });
    stream.close();
  });

  it('reports its state: catching_up, then live, then closed', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    log.appendMany('s', 3);
    const stream = bus.stream({ sessionId: 's' }, { fromSeq: 1, reader: log });
    expect(stream.state).toBe('catching_up');
    expect(eventSeqs(await take(stream, 3))).toEqual([1, 2, 3]);
    const pending = stream.next();
    await expect.poll(() => stream.state).toBe('live');
    bus.publish(log.appendMany('s', 1));
    expect((await pending).value).toMatchObject({ kind: 'event', event: { seq: 4 } });
    stream.close();
    expect(stream.state).toBe('closed');
    expect(bus.stream({}).state).toBe('live');
  });

  it('applies the type filter to replayed events', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    log.append('s', [{ type: 'agent.progress' }, { type: 'agent.failed' }, { type: 'session.created' }]);
    const stream = bus.stream({ sessionId: 's', types: ['agent.failed'] }, { fromSeq: 1, reader: log });
    bus.publish(log.append('s', [{ type: 'agent.progress' }, { type: 'agent.failed' }]));
    expect(eventSeqs(await take(stream, 2))).toEqual([2, 5]);
    stream.close();
  });

  it('keeps reading when the reader returns pages shorter than asked (a capped store)', async () => {
    const bus = new EventBus();
    const log = new MemoryLog({ maxPage: 2 });
    log.appendMany('s', 9);
    const stream = bus.stream({ sessionId: 's' }, { fromSeq: 1, reader: log, pageSize: 5 });
    bus.publish(log.appendMany('s', 1));
    expect(eventSeqs(await take(stream, 10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    stream.close();
  });

  it('starting past the end of the log delivers only later events', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    log.appendMany('s', 3);
    const stream = bus.stream({ sessionId: 's' }, { fromSeq: 5, reader: log });
    bus.publish(log.appendMany('s', 3));
    expect(eventSeqs(await take(stream, 2))).toEqual([5, 6]);
    stream.close();
  });

  it('fails the iteration with the reader error and closes', async () => {
    const bus = new EventBus();
    const reader: EventReader = {
      read: () => Promise.reject(new Error('store down')),
    };
    const stream = bus.stream({ sessionId: 's' }, { fromSeq: 1, reader });
    await expect(stream.next()).rejects.toThrow('store down');
    expect(stream.closed).toBe(true);
    expect(bus.stats()).toEqual([]);
  });

  it('rejects inconsistent options with INVALID_ARGUMENT', () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    let error: unknown;
    try {
      bus.stream({}, { fromSeq: 0 });
    } catch (e) {
      error = e;
    }
    expect(isOrchestratorError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/fromSeq: expected an integer >= 1/);
    expect((error as Error).message).toMatch(/needs filter.sessionId/);
    expect((error as Error).message).toMatch(/needs a reader/);
    expect(() => bus.stream({ sessionId: 's' }, { heartbeatMs: 0 })).toThrow(/heartbeatMs/);
    expect(() => bus.stream({ sessionId: 's' }, { reader: {} as never })).toThrow(/reader/);
    expect(() => bus.stream({ sessionId: 's' }, { reader: log, pageSize: 0 })).toThrow(/pageSize/);
    expect(() => bus.stream({ sessionId: 's' }, { bufferSize: -1 })).toThrow(/bufferSize/);
  });
});

describe('EventBus.stream: overflow', () => {
  it('without a reader, yields a gap item with per-session counts after the buffered events', async () => {
    const overflows: SubscriberOverflow[] = [];
    const bus = new EventBus({ onSubscriberOverflow: (o) => void overflows.push(o) });
    const stream = bus.stream({}, { bufferSize: 3 });
    bus.publish([1, 2, 3, 4, 5].map((seq) => makeEvent('a', seq)));
    bus.publish([makeEvent('b', 7), makeEvent('b', 9)]);
    expect(stream.stats()).toMatchObject({ queued: 3, missed: 4, overflowing: true });
    const items = await take(stream, 5);
    bus.publish([makeEvent('a', 6)]);
    items.push(...(await take(stream, 1)));
    expect(items).toEqual([
      { kind: 'event', event: expect.objectContaining({ seq: 1 }) },
      { kind: 'event', event: expect.objectContaining({ seq: 2 }) },
      { kind: 'event', event: expect.objectContaining({ seq: 3 }) },
      { kind: 'gap', sessionId: 'a', fromSeq: 4, toSeq: 5, missed: 2 },
      { kind: 'gap', sessionId: 'b', fromSeq: 7, toSeq: 9, missed: 2 },
      { kind: 'event', event: expect.objectContaining({ seq: 6 }) },
    ]);
    expect(stream.stats()).toMatchObject({ delivered: 4, missed: 4, gaps: 2, recovered: 0, overflowing: false });
    expect(overflows.map((o) => o.recovered)).toEqual([false, false]);
    stream.close();
  });

  it('with a reader, reads the missed events back so the consumer sees no gap', async () => {
    const overflows: SubscriberOverflow[] = [];
    const bus = new EventBus({ onSubscriberOverflow: (o) => void overflows.push(o) });
    const log = new MemoryLog();
    const stream = bus.stream({ pattern: 'agent.*' }, { bufferSize: 4, reader: log, pageSize: 3 });
    bus.publish(log.appendMany('a', 6));
    bus.publish(log.append('b', [{ type: 'agent.progress' }, { type: 'session.created' }, { type: 'agent.failed' }]));
    bus.publish(log.appendMany('a', 4));
    const items = await take(stream, 12);
    const labels = items.map((i) => (i.kind === 'event' ? `${i.event.sessionId}${i.event.seq}` : i.kind));
    expect(labels).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10', 'b1', 'b3']);
    expect(stream.stats()).toMatchObject({ missed: 8, recovered: 8, gaps: 0, delivered: 12 });
    expect(overflows.map((o) => [o.gap.sessionId, o.gap.missed, o.recovered])).toEqual([
      ['a', 6, true],
      ['b', 2, true],
    ]);
    stream.close();
  });

  it('falls back to a gap item when the reader fails or lacks the missed events', async () => {
    const bus = new EventBus();
    let fail = true;
    const log = new MemoryLog({
      beforeRead: () => {
        if (fail) throw new Error('store down');
      },
    });
    const stream = bus.stream({ sessionId: 's' }, { bufferSize: 2, reader: log });
    bus.publish(log.appendMany('s', 5));
    expect(await take(stream, 3)).toEqual([
      { kind: 'event', event: expect.objectContaining({ seq: 1 }) },
      { kind: 'event', event: expect.objectContaining({ seq: 2 }) },
      { kind: 'gap', sessionId: 's', fromSeq: 3, toSeq: 5, missed: 3 },
    ]);
    fail = false;
    // Events the reader never stored (published by someone else): reported, not invented.
    bus.publish([6, 7, 8, 9].map((seq) => makeEvent('s', seq)));
    expect(await take(stream, 3)).toEqual([
      { kind: 'event', event: expect.objectContaining({ seq: 6 }) },
      { kind: 'event', event: expect.objectContaining({ seq: 7 }) },
      { kind: 'gap', sessionId: 's', fromSeq: 8, toSeq: 9, missed: 2 },
    ]);
    stream.close();
  });
});

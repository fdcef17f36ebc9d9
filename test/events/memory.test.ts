import { describe, expect, it } from 'vitest';
import { EventBus, type OrchestratorEvent } from '../../src/events/index.ts';
import { makeEvent } from '../support/memory-reader.ts';

const TOTAL = 1_000_000;
const BATCH = 1000;
const MB = 1024 * 1024;

/** Runs a full collection when the process was started with --expose-gc; a no-op otherwise. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

describe('EventBus memory', () => {
  it('stays flat over 1,000,000 events through a stream and a handler (no history kept)', async () => {
    const bus = new EventBus();
    const stream = bus.stream({ sessionId: 's' });
    let handled = 0;
    bus.subscribe({ pattern: 'agent.*' }, () => {
      handled++;
    });
    // heapUsed is sampled often and the lowest sample of a window taken: garbage only ever
    // lifts a sample above what is really retained, so the minimum tracks the live heap
    // whether or not a gc() can be forced.
    const samples = new Map<number, number>();
    let consumed = 0;
    let lastSeq = 0;
    let ordered = true;
    const consumer = (async () => {
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        if (item.event.seq !== lastSeq + 1) ordered = false;
        lastSeq = item.event.seq;
        consumed++;
        if (consumed % 10_000 === 0) {
          collect();
          samples.set(consumed, process.memoryUsage().heapUsed);
        }
        if (consumed === TOTAL) break;
      }
    })();
    let seq = 0;
    while (seq < TOTAL) {
      const batch: OrchestratorEvent[] = [];
      for (let i = 0; i < BATCH; i++) batch.push(makeEvent('s', ++seq));
      bus.publish(batch);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await consumer;
    await new Promise<void>((resolve) => setImmediate(resolve));
    const floor = (from: number, to: number) =>
      Math.min(...[...samples].filter(([n]) => n >= from && n <= to).map(([, heap]) => heap));
    const early = floor(150_000, 250_000);
    const late = floor(900_000, 1_000_000);
    expect(consumed).toBe(TOTAL);
    expect(ordered).toBe(true);
    expect(handled).toBe(TOTAL);
    expect(stream.stats()).toMatchObject({ missed: 0, delivered: TOTAL });
    // 800,000 retained events would be well over 100 MB; the bound is generous for GC noise.
    expect((late - early) / MB).toBeLessThan(40);
    stream.close();
    bus.close();
  }, 120_000);
});

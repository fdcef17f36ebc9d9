import { EventEmitter } from 'node:events';
import { EventBus, type OrchestratorEvent } from '../src/events/index.ts';

/**
 * Throughput of the event bus beside a bare `node:events` EventEmitter doing the same work in
 * the same process: N pre-built events, published in commit-sized batches, to 1 and to 10
 * synchronous handlers, timed until every handler has seen every event. Both sides yield to the
 * microtask queue after each batch (the bus delivers there; the emitter already has). The
 * ratio is bus time / emitter time: the target is at most 3.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const EVENTS = 1_000_000;
const BATCH = 100;
const ROUNDS = 3;

function buildEvents(count: number): OrchestratorEvent[] {
  const events: OrchestratorEvent[] = [];
  for (let i = 1; i <= count; i++) {
    events.push({
      id: `evt-${i}`,
      type: i % 2 === 0 ? 'agent.progress' : 'agent.message',
      sessionId: 'ses_bench',
      seq: i,
      ts: '2025-01-01T00:00:00.000Z',
      source: 'bench',
      correlationId: null,
      causationId: null,
      data: { agentId: 'agt_1', kind: 'text', text: 'x' },
    } as OrchestratorEvent);
  }
  return events;
}

function batches(events: OrchestratorEvent[], size: number): OrchestratorEvent[][] {
  const out: OrchestratorEvent[][] = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

async function timeBus(
  chunks: OrchestratorEvent[][],
  total: number,
  subscribers: number,
  perCall = chunks[0]?.length ?? 1,
): Promise<number> {
  const bus = new EventBus();
  let seen = 0;
  for (let i = 0; i < subscribers; i++) {
    bus.subscribe({ sessionId: 'ses_bench' }, () => {
      seen++;
    });
  }
  const expected = total * subscribers;
  const start = performance.now();
  if (perCall === 1) {
    // One event per publish call (a commit of one event), yielding after each batch's worth.
    for (const chunk of chunks) {
      for (let i = 0; i < chunk.length; i++) bus.publish(chunk.slice(i, i + 1));
      await null;
    }
  } else {
    for (const chunk of chunks) {
      bus.publish(chunk);
      await null;
    }
  }
  while (seen < expected) await new Promise((resolve) => setImmediate(resolve));
  const elapsed = performance.now() - start;
  bus.close();
  return elapsed;
}

async function timeEmitter(chunks: OrchestratorEvent[][], total: number, listeners: number): Promise<number> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(listeners + 1);
  let seen = 0;
  for (let i = 0; i < listeners; i++) {
    emitter.on('event', (event: OrchestratorEvent) => {
      // The bus checks the session for its subscribers; do the same work here.
      if (event.sessionId === 'ses_bench') seen++;
    });
  }
  const expected = total * listeners;
  const start = performance.now();
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) emitter.emit('event', chunk[i]);
    await null;
  }
  while (seen < expected) await new Promise((resolve) => setImmediate(resolve));
  return performance.now() - start;
}

async function timeStream(chunks: OrchestratorEvent[][], total: number): Promise<number> {
  const bus = new EventBus();
  const stream = bus.stream({ sessionId: 'ses_bench' });
  let seen = 0;
  const start = performance.now();
  const consumer = (async () => {
    for await (const item of stream) {
      if (item.kind === 'event' && ++seen === total) break;
    }
  })();
  for (const chunk of chunks) {
    bus.publish(chunk);
    // Let the consumer keep up, as a live consumer would between commits.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await consumer;
  const elapsed = performance.now() - start;
  bus.close();
  return elapsed;
}

async function best(run: () => Promise<number>): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) min = Math.min(min, await run());
  return min;
}

/** Runs the bus benchmarks and returns the figures. */
export default async function (): Promise<BenchResult[]> {
  const events = buildEvents(EVENTS);
  const chunks = batches(events, BATCH);
  const results: BenchResult[] = [];
  // Warm both paths up so the JIT has compiled them before timing.
  const warm = batches(events.slice(0, 100_000), BATCH);
  await timeBus(warm, 100_000, 10);
  await timeEmitter(warm, 100_000, 10);
  for (const fanOut of [1, 10]) {
    const busMs = await best(() => timeBus(chunks, EVENTS, fanOut));
    const emitterMs = await best(() => timeEmitter(chunks, EVENTS, fanOut));
    const perSecond = (ms: number) => Math.round(EVENTS / (ms / 1000));
    results.push(
      { name: `bus publish to ${fanOut} subscriber(s)`, value: perSecond(busMs), unit: 'events/s' },
      { name: `EventEmitter emit to ${fanOut} listener(s)`, value: perSecond(emitterMs), unit: 'events/s' },
      {
        name: `bus time / EventEmitter time, ${fanOut} subscriber(s)`,
        value: Math.round((busMs / emitterMs) * 100) / 100,
        unit: 'x',
        target: '<= 3',
      },
    );
  }
  // The worst case for the bus: every publish carries a single event (an array per call).
  const singleMs = await best(() => timeBus(chunks, EVENTS, 10, 1));
  const emitterMs = await best(() => timeEmitter(chunks, EVENTS, 10));
  results.push(
    {
      name: 'bus publish to 10 subscribers, 1 event per call',
      value: Math.round(EVENTS / (singleMs / 1000)),
      unit: 'events/s',
    },
    {
      name: 'bus time / EventEmitter time, 10 subscribers, 1 event per call',
      value: Math.round((singleMs / emitterMs) * 100) / 100,
      unit: 'x',
      target: '<= 3',
    },
  );
  const streamMs = await best(() => timeStream(chunks, EVENTS));
  results.push({ name: 'stream for-await consumer', value: Math.round(EVENTS / (streamMs / 1000)), unit: 'events/s' });
  return results;
}

import { describe, expect, it } from 'vitest';
import { EventBus, type EventType, type OrchestratorEvent, type StreamItem } from '../../src/events/index.ts';
import { MemoryLog } from '../support/memory-reader.ts';

/** A small seeded PRNG (mulberry32), so a failing interleaving can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES: EventType[] = ['agent.progress', 'agent.failed', 'session.created', 'workflow.started'];

/** Yields to the event loop a random way: not at all, a microtask, or a macrotask. */
async function jitter(random: () => number): Promise<void> {
  const r = random();
  if (r < 0.3) return;
  if (r < 0.6) await Promise.resolve();
  else await new Promise<void>((resolve) => setImmediate(resolve));
}

async function macrotasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Scenario {
  seed: number;
  history: number;
  live: number;
  fromSeq: number;
  pageSize: number;
  maxPage: number | undefined;
  bufferSize: number;
  typed: boolean;
  slowConsumer: boolean;
  /** Events committed in one synchronous burst once the consumer has caught up. */
  burst: number;
}

interface Outcome {
  scenario: Scenario;
  got: string[];
  want: string[];
  recovered: number;
  missed: number;
  commitsDuringReads: number;
}

async function runScenario(seed: number): Promise<Outcome> {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const scenario: Scenario = {
    seed,
    history: int(0, 40),
    live: int(1, 100),
    fromSeq: 1,
    pageSize: int(1, 8),
    maxPage: random() < 0.3 ? int(1, 4) : undefined,
    // Small buffers force overflow and read-back in some runs.
    bufferSize: random() < 0.4 ? int(1, 6) : 1000,
    typed: random() < 0.4,
    slowConsumer: random() < 0.5,
    burst: random() < 0.5 ? int(5, 40) : 0,
  };
  scenario.fromSeq = int(1, scenario.history + 3);
  const bus = new EventBus();
  const randomType = () => TYPES[int(0, TYPES.length - 1)] as EventType;
  let pendingLive = scenario.live;
  let commitsDuringReads = 0;
  // Each read may let the publisher commit more events while the stream is catching up.
  const log: MemoryLog = new MemoryLog({
    maxPage: scenario.maxPage,
    beforeRead: async () => {
      await jitter(random);
      if (pendingLive > 0 && random() < 0.5) {
        commitsDuringReads++;
        commit();
      }
      await jitter(random);
    },
  });
  const commit = () => {
    const count = Math.min(pendingLive, int(1, 4));
    pendingLive -= count;
    const drafts = Array.from({ length: count }, () => ({ type: randomType() }));
    bus.publish(log.append('s', drafts));
    if (random() < 0.3) bus.publish(log.append('noise', [{ type: randomType() }]));
  };
  for (let i = 0; i < scenario.history; i++) log.append('s', [{ type: randomType() }]);
  const filter = scenario.typed
    ? ({ sessionId: 's', types: ['agent.failed', 'session.created'] } as const)
    : ({ sessionId: 's' } as const);
  const stream = bus.stream(filter, {
    fromSeq: scenario.fromSeq,
    reader: log,
    pageSize: scenario.pageSize,
    bufferSize: scenario.bufferSize,
  });
  const matches = (e: OrchestratorEvent) =>
    !scenario.typed || e.type === 'agent.failed' || e.type === 'session.created';
  const wanted = () => log.all('s').filter((e) => e.seq >= scenario.fromSeq && matches(e));
  const got: string[] = [];
  const publisher = (async () => {
    while (pendingLive > 0) {
      await jitter(random);
      if (scenario.slowConsumer && random() < 0.5) await macrotasks(int(1, 4));
      commit();
    }
    if (scenario.burst > 0) {
      // Wait for the consumer to catch up, then overflow it live (not during catch-up, where
      // the catch-up reads would cover the misses anyway).
      for (let i = 0; i < 10_000 && (got.length < wanted().length || stream.state !== 'live'); i++) {
        await macrotasks(1);
      }
      pendingLive = scenario.burst;
      while (pendingLive > 0) commit();
    }
  })();
  // After the publisher is done, one last matching event marks the end: order is guaranteed,
  // so when it arrives everything before it has arrived too.
  let sentinel = Number.POSITIVE_INFINITY;
  const finished = publisher.then(() => {
    // fromSeq may lie beyond the log's end: fill up to it first so the sentinel is in range.
    while (log.lastSeq('s') < scenario.fromSeq - 1) bus.publish(log.append('s', [{ type: randomType() }]));
    const [last] = log.append('s', [{ type: 'session.created' }]);
    sentinel = (last as OrchestratorEvent).seq;
    bus.publish([last as OrchestratorEvent]);
  });
  for await (const item of stream) {
    got.push(label(item));
    if (item.kind === 'event' && item.event.seq >= sentinel) break;
    if (scenario.slowConsumer) await macrotasks(int(1, 3));
    else if (random() < 0.2) await jitter(random);
  }
  await finished;
  const { recovered, missed } = stream.stats();
  stream.close();
  const want = wanted().map((e) => `${e.seq}`);
  return { scenario, got, want, recovered, missed, commitsDuringReads };
}

function label(item: StreamItem): string {
  if (item.kind === 'event') return `${item.event.seq}`;
  if (item.kind === 'gap') return `gap ${item.fromSeq}-${item.toSeq}`;
  return item.kind;
}

describe('EventBus.stream: catch-up under concurrent publishes', () => {
  it('delivers every event from fromSeq exactly once, in order, for randomized interleavings', async () => {
    const failures: string[] = [];
    let recoveredRuns = 0;
    let overflowRuns = 0;
    let interleavedRuns = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const { scenario, got, want, recovered, missed, commitsDuringReads } = await runScenario(seed);
      if (missed > 0) overflowRuns++;
      if (recovered > 0) recoveredRuns++;
      if (commitsDuringReads > 0) interleavedRuns++;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${JSON.stringify(scenario)}\n  got  ${got.join(',')}\n  want ${want.join(',')}`);
      }
    }
    expect(failures, failures.slice(0, 3).join('\n')).toEqual([]);
    // The seeds must actually exercise both hard paths, or the test proves little.
    expect(overflowRuns).toBeGreaterThan(20);
    expect(recoveredRuns).toBeGreaterThan(10);
    expect(interleavedRuns).toBeGreaterThan(30);
  }, 60_000);
});

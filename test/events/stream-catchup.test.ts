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

interface Scenario {
  seed: number;
  history: number;
  live: number;
  fromSeq: number;
  pageSize: number;
  maxPage: number | undefined;
  bufferSize: number;
  typed: boolean;
}

export async function runScenario(seed: number): Promise<{ scenario: Scenario; got: string[]; want: string[] }> {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const scenario: Scenario = {
    seed,
    history: int(0, 40),
    live: int(1, 60),
    fromSeq: 1,
    pageSize: int(1, 8),
    maxPage: random() < 0.3 ? int(1, 4) : undefined,
    // Small buffers force overflow and read-back in some runs.
    bufferSize: random() < 0.4 ? int(1, 6) : 1000,
    typed: random() < 0.4,
  };
  scenario.fromSeq = int(1, scenario.history + 3);
  const bus = new EventBus();
  const randomType = () => TYPES[int(0, TYPES.length - 1)] as EventType;
  let pendingLive = scenario.live;
  // Each read may let the publisher commit more events while the stream is catching up.
  const log: MemoryLog = new MemoryLog({
    maxPage: scenario.maxPage,
    beforeRead: async () => {
      await jitter(random);
      if (pendingLive > 0 && random() < 0.5) commit();
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
  const publisher = (async () => {
    while (pendingLive > 0) {
      await jitter(random);
      commit();
    }
  })();
  const matches = (e: OrchestratorEvent) => !scenario.typed || e.type === 'agent.failed' || e.type === 'session.created';
  // After the publisher is done, one last matching event marks the end: order is guaranteed,
  // so when it arrives everything before it has arrived too.
  let sentinel = Number.POSITIVE_INFINITY;
  const finished = publisher.then(() => {
    const [last] = log.append('s', [{ type: 'session.created' }]);
    sentinel = (last as OrchestratorEvent).seq;
    bus.publish([last as OrchestratorEvent]);
  });
  const got: string[] = [];
  for await (const item of stream) {
    got.push(label(item));
    if (item.kind === 'event' && item.event.seq >= sentinel) break;
    if (random() < 0.2) await jitter(random);
  }
  await finished;
  stream.close();
  const want = log
    .all('s')
    .filter((e) => e.seq >= scenario.fromSeq && matches(e))
    .map((e) => `${e.seq}`);
  return { scenario, got, want };
}

function label(item: StreamItem): string {
  if (item.kind === 'event') return `${item.event.seq}`;
  if (item.kind === 'gap') return `gap ${item.fromSeq}-${item.toSeq}`;
  return item.kind;
}

describe('EventBus.stream: catch-up under concurrent publishes', () => {
  it('delivers every event from fromSeq exactly once, in order, for randomized interleavings', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 150; seed++) {
      const { scenario, got, want } = await runScenario(seed);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${JSON.stringify(scenario)}\n  got  ${got.join(',')}\n  want ${want.join(',')}`);
      }
    }
    expect(failures, failures.slice(0, 3).join('\n')).toEqual([]);
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import {
  EventBus,
  type EventGap,
  type OrchestratorEvent,
  type SubscriberFailure,
  type SubscriberOverflow,
} from '../../src/events/index.ts';
import { MemoryLog, makeEvent } from '../support/memory-reader.ts';

/** Lets queued microtasks and promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const seqs = (events: readonly OrchestratorEvent[]) => events.map((e) => e.seq);

describe('EventBus subscribe: filters', () => {
  it('delivers by exact types, by glob pattern and by session, and nothing else', async () => {
    const bus = new EventBus();
    const log = new MemoryLog();
    const byType: string[] = [];
    const byAgentGlob: string[] = [];
    const byFailedGlob: string[] = [];
    const bySession: string[] = [];
    const everything: string[] = [];
    bus.subscribe({ types: ['agent.failed', 'workflow.started'] }, (e) => {
      byType.push(e.type);
    });
    bus.subscribe({ pattern: 'agent.*' }, (e) => {
      byAgentGlob.push(e.type);
    });
    bus.subscribe({ pattern: ['*.failed', 'session.*'] }, (e) => {
      byFailedGlob.push(e.type);
    });
    bus.subscribe({ sessionId: 's2', pattern: '*' }, (e) => {
      bySession.push(`${e.sessionId}:${e.type}`);
    });
    bus.subscribe({}, (e) => {
      everything.push(e.type);
    });
    bus.publish(
      log.append('s1', [
        { type: 'session.created' },
        { type: 'workflow.started' },
        { type: 'agent.progress' },
        { type: 'agent.failed' },
      ]),
    );
    bus.publish(log.append('s2', [{ type: 'agent.failed' }, { type: 'workflow.started' }]));
    expect(everything).toEqual([]); // nothing runs on the publisher's call stack
    await flush();
    expect(byType).toEqual(['workflow.started', 'agent.failed', 'agent.failed', 'workflow.started']);
    expect(byAgentGlob).toEqual(['agent.progress', 'agent.failed', 'agent.failed']);
    expect(byFailedGlob).toEqual(['session.created', 'agent.failed', 'agent.failed']);
    expect(bySession).toEqual(['s2:agent.failed', 's2:workflow.started']);
    expect(everything).toHaveLength(6);
  });

  it('matches a type and a pattern given together as a union', async () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe({ types: ['session.created'], pattern: '*.failed' }, (e) => {
      got.push(e.type);
    });
    bus.publish([
      makeEvent('s', 1, 'session.created'),
      makeEvent('s', 2, 'agent.progress'),
      makeEvent('s', 3, 'agent.failed'),
    ]);
    await flush();
    expect(got).toEqual(['session.created', 'agent.failed']);
  });

  it('rejects bad filters and options with one INVALID_ARGUMENT listing every problem', () => {
    const bus = new EventBus();
    const bad = { types: ['agent.nope'], pattern: 'agnet.*', sessionId: '', extra: 1 } as never;
    let error: unknown;
    try {
      bus.subscribe(bad, () => {});
    } catch (e) {
      error = e;
    }
    expect(isOrchestratorError(error, 'INVALID_ARGUMENT')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('unknown filter key "extra"');
    expect(message).toContain('unknown event type "agent.nope"');
    expect(message).toContain('"agnet.*" matches no known event type');
    expect(message).toContain('sessionId');
    expect(() => bus.subscribe({ types: [] }, () => {})).toThrow(/non-empty array/);
    expect(() => bus.subscribe({ pattern: 'agent.(x)' }, () => {})).toThrow(/invalid glob/);
    expect(() => bus.subscribe({}, () => {}, { bufferSize: 0 })).toThrow(/bufferSize/);
    expect(() => bus.subscribe({}, () => {}, { handlerTimeoutMs: 2 ** 31 })).toThrow(/handlerTimeoutMs/);
    expect(() => bus.subscribe({}, () => {}, { bogus: true } as never)).toThrow(/unknown option "bogus"/);
    expect(() => bus.subscribe({}, 'nope' as never)).toThrow(/handler must be a function/);
  });
});

describe('EventBus subscribe: delivery', () => {
  it('stops delivering after unsubscribe, including events already queued, and is idempotent', async () => {
    const bus = new EventBus();
    const got: number[] = [];
    const unsubscribe = bus.subscribe({}, (e) => {
      got.push(e.seq);
    });
    bus.publish([makeEvent('s', 1)]);
    await flush();
    bus.publish([makeEvent('s', 2)]);
    unsubscribe();
    unsubscribe();
    bus.publish([makeEvent('s', 3)]);
    await flush();
    expect(got).toEqual([1]);
    expect(unsubscribe.stats().closed).toBe(true);
    expect(bus.stats()).toEqual([]);
  });

  it('delivers in publish order across many publish calls', async () => {
    const bus = new EventBus();
    const got: number[] = [];
    bus.subscribe({}, (e) => {
      got.push(e.seq);
    });
    const expected: number[] = [];
    let seq = 0;
    for (let call = 0; call < 200; call++) {
      const batch = Array.from({ length: (call % 7) + 1 }, () => makeEvent('s', ++seq));
      expected.push(...seqs(batch));
      bus.publish(batch);
      if (call % 13 === 0) await flush();
    }
    await flush();
    expect(got).toEqual(expected);
  });

  it('awaits an async handler before handing it the next event', async () => {
    const bus = new EventBus();
    const trace: string[] = [];
    let running = 0;
    let maxRunning = 0;
    bus.subscribe({}, async (e) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      trace.push(`start ${e.seq}`);
      await new Promise((resolve) => setTimeout(resolve, 5 - e.seq));
      trace.push(`end ${e.seq}`);
      running--;
    });
    bus.publish([makeEvent('s', 1), makeEvent('s', 2), makeEvent('s', 3)]);
    await expect.poll(() => trace.length).toBe(6);
    expect(trace).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(maxRunning).toBe(1);
  });

  it('keeps a slow subscriber from delaying a fast one', async () => {
    const bus = new EventBus();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fast: number[] = [];
    const slow: number[] = [];
    bus.subscribe({}, async (e) => {
      await gate;
      slow.push(e.seq);
    });
    bus.subscribe({}, (e) => {
      fast.push(e.seq);
    });
    bus.publish([makeEvent('s', 1), makeEvent('s', 2)]);
    await flush();
    expect(fast).toEqual([1, 2]);
    expect(slow).toEqual([]);
    release();
    await expect.poll(() => slow).toEqual([1, 2]);
  });

  it('fans out to many subscribers, each receiving its own sessions in order', async () => {
    const bus = new EventBus();
    const sessions = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const received = new Map<string, number[]>();
    const subs = [];
    for (let i = 0; i < 500; i++) {
      const sessionId = sessions[i % sessions.length] as string;
      const key = `${i}`;
      received.set(key, []);
      subs.push({ key, sessionId });
      bus.subscribe({ sessionId }, (e) => {
        received.get(key)?.push(e.seq);
      });
    }
    let all = 0;
    bus.subscribe({ pattern: 'agent.*' }, () => {
      all++;
    });
    const log = new MemoryLog();
    for (let round = 0; round < 20; round++) {
      for (const sessionId of sessions) bus.publish(log.appendMany(sessionId, 3));
    }
    await flush();
    for (const { key } of subs) expect(received.get(key)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(all).toBe(50 * 60);
    expect(bus.stats()).toHaveLength(501);
  });

  it('ends every subscription on close and refuses new ones', async () => {
    const bus = new EventBus();
    const got: number[] = [];
    const sub = bus.subscribe({}, (e) => {
      got.push(e.seq);
    });
    bus.publish([makeEvent('s', 1)]);
    bus.close();
    bus.close();
    bus.publish([makeEvent('s', 2)]);
    await flush();
    expect(got).toEqual([]);
    expect(sub.stats().closed).toBe(true);
    expect(() => bus.subscribe({}, () => {})).toThrow(/closed/);
  });
});

describe('EventBus subscribe: isolation and reporting', () => {
  it('reports a throwing handler, skips to the next event, and leaves other subscribers alone', async () => {
    const failures: SubscriberFailure[] = [];
    const bus = new EventBus({ onSubscriberFailure: (f) => void failures.push(f) });
    const bad: number[] = [];
    const good: number[] = [];
    const sub = bus.subscribe(
      {},
      (e) => {
        bad.push(e.seq);
        if (e.seq === 2) throw new Error('boom on 2');
      },
      { name: 'flaky' },
    );
    bus.subscribe({}, (e) => {
      good.push(e.seq);
    });
    bus.publish([makeEvent('s', 1), makeEvent('s', 2), makeEvent('s', 3)]);
    await flush();
    expect(bad).toEqual([1, 2, 3]);
    expect(good).toEqual([1, 2, 3]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ subscriber: 'flaky', reason: 'threw', message: 'boom on 2' });
    expect(failures[0]?.event.seq).toBe(2);
    expect(sub.stats()).toMatchObject({ name: 'flaky', delivered: 2, failures: 1, unreportedFailures: 0 });
    expect(sub.name).toBe('flaky');
  });

  it('reports a rejecting handler and one that exceeds handlerTimeoutMs, then carries on', async () => {
    const failures: SubscriberFailure[] = [];
    const bus = new EventBus({ onSubscriberFailure: (f) => void failures.push(f) });
    const done: number[] = [];
    const sub = bus.subscribe(
      {},
      async (e) => {
        if (e.seq === 1) throw new Error('rejected 1');
        if (e.seq === 2) await new Promise(() => {}); // never settles
        done.push(e.seq);
      },
      { name: 'slowpoke', handlerTimeoutMs: 20 },
    );
    bus.publish([makeEvent('s', 1), makeEvent('s', 2), makeEvent('s', 3)]);
    await expect.poll(() => done).toEqual([3]);
    expect(failures.map((f) => [f.reason, f.event.seq])).toEqual([
      ['threw', 1],
      ['timeout', 2],
    ]);
    expect(failures[1]?.message).toContain('20 ms');
    expect(sub.stats()).toMatchObject({ delivered: 1, failures: 2 });
  });

  it('ignores a handler promise that settles after its timeout', async () => {
    const failures: SubscriberFailure[] = [];
    const bus = new EventBus({ onSubscriberFailure: (f) => void failures.push(f) });
    let rejectLate: (e: Error) => void = () => {};
    const sub = bus.subscribe(
      {},
      (e) =>
        e.seq === 1
          ? new Promise<void>((_, reject) => {
              rejectLate = reject;
            })
          : undefined,
      { handlerTimeoutMs: 10 },
    );
    bus.publish([makeEvent('s', 1), makeEvent('s', 2)]);
    await expect.poll(() => sub.stats().delivered).toBe(1);
    rejectLate(new Error('too late'));
    await flush();
    expect(failures.map((f) => f.reason)).toEqual(['timeout']);
    expect(sub.stats()).toMatchObject({ delivered: 1, failures: 1 });
  });

  it('does not report a failure on a system.subscriber_failed event (no report loop), only counts it', async () => {
    const log = new MemoryLog();
    const reports: SubscriberFailure[] = [];
    // The log owner's role: every report becomes a committed system.subscriber_failed event.
    const owner = new EventBus({
      onSubscriberFailure: (f) => {
        reports.push(f);
        owner.publish(
          log.append('s', [
            {
              type: 'system.subscriber_failed',
              data: {
                subscriber: f.subscriber,
                reason: f.reason,
                message: f.message,
                eventId: f.event.id,
                eventType: f.event.type,
              },
            },
          ]),
        );
      },
    });
    const sub = owner.subscribe({}, () => {
      throw new Error('always');
    });
    owner.publish(log.append('s', [{ type: 'agent.progress' }]));
    await flush();
    await flush();
    expect(reports).toHaveLength(1);
    expect(log.lastSeq('s')).toBe(2);
    expect(sub.stats()).toMatchObject({ failures: 2, unreportedFailures: 1 });
  });

  it('survives a failure callback that throws', async () => {
    const bus = new EventBus({
      onSubscriberFailure: () => {
        throw new Error('reporter down');
      },
    });
    const got: number[] = [];
    const sub = bus.subscribe({}, (e) => {
      got.push(e.seq);
      throw new Error('x');
    });
    bus.publish([makeEvent('s', 1), makeEvent('s', 2)]);
    await flush();
    expect(got).toEqual([1, 2]);
    expect(sub.stats()).toMatchObject({ failures: 2, unreportedFailures: 2 });
  });
});

describe('EventBus subscribe: overflow', () => {
  it('stops queuing when full, counts misses per session, and notifies once drained, in order', async () => {
    const overflows: SubscriberOverflow[] = [];
    const bus = new EventBus({ onSubscriberOverflow: (o) => void overflows.push(o) });
    const log = new MemoryLog();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const trace: string[] = [];
    const sub = bus.subscribe(
      {},
      async (e) => {
        if (e.sessionId === 'a' && e.seq === 1) await gate;
        trace.push(`${e.sessionId}${e.seq}`);
      },
      {
        name: 'small',
        bufferSize: 3,
        onOverflow: (gap: EventGap) => {
          trace.push(`gap ${gap.sessionId} ${gap.fromSeq}-${gap.toSeq} x${gap.missed}`);
        },
      },
    );
    bus.publish(log.appendMany('a', 1)); // a1 goes to the handler, which blocks on the gate
    await flush();
    bus.publish(log.appendMany('a', 3)); // a2..a4 fill the queue
    bus.publish(log.appendMany('a', 4)); // a5..a8 missed
    bus.publish(log.appendMany('b', 2)); // b1..b2 missed
    bus.publish(log.appendMany('a', 1)); // a9 missed
    expect(sub.stats()).toMatchObject({ queued: 3, missed: 7, overflowing: true });
    release();
    await expect.poll(() => trace.length).toBe(6);
    bus.publish(log.appendMany('a', 1)); // a10 queued again after the notices
    await expect.poll(() => trace.length).toBe(7);
    expect(trace).toEqual(['a1', 'a2', 'a3', 'a4', 'gap a 5-9 x5', 'gap b 1-2 x2', 'a10']);
    expect(sub.stats()).toMatchObject({ delivered: 5, missed: 7, gaps: 2, overflowing: false, queued: 0 });
    expect(overflows.map((o) => [o.subscriber, o.gap.sessionId, o.gap.missed, o.recovered])).toEqual([
      ['small', 'a', 5, false],
      ['small', 'b', 2, false],
    ]);
  });

  it('records the gap in stats and the bus hook when the subscriber gives no onOverflow', async () => {
    const overflows: SubscriberOverflow[] = [];
    const bus = new EventBus({ onSubscriberOverflow: (o) => void overflows.push(o) });
    const got: number[] = [];
    const sub = bus.subscribe({ pattern: 'agent.*' }, (e) => void got.push(e.seq), { bufferSize: 2 });
    // Filtered-out events between the missed ones widen the range but are not counted.
    bus.publish([
      makeEvent('s', 1),
      makeEvent('s', 2),
      makeEvent('s', 3),
      makeEvent('s', 4, 'session.created'),
      makeEvent('s', 5),
    ]);
    await flush();
    expect(got).toEqual([1, 2]);
    expect(overflows.map((o) => o.gap)).toEqual([{ sessionId: 's', fromSeq: 3, toSeq: 5, missed: 2 }]);
    expect(sub.stats()).toMatchObject({ missed: 2, gaps: 1 });
  });
});

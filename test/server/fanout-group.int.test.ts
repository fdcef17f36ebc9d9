import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { type AnyEvent, compileFilter, type NewEvent } from '../../src/events/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { followLive, type GroupSettings, type StreamSink } from '../../src/server/streams/fanout.ts';
import { TailHub } from '../../src/server/streams/tail.ts';
import { waitFor } from '../support/cli-kit.ts';

// The fan-out group on a real event log (SQLite) and its tail, with sinks that record what
// they are given: one write per delivery and member, one encoding per delivery for all,
// the exact events for a client that joins ahead of the group, runs of at most a batch, and a
// client whose transport fills handed back at the right cursor.

const memory = (i: number): NewEvent => ({ type: 'memory.set', data: { key: `k${i}`, value: i, by: 'test' } });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A sink that records each write; `full` makes writes report a full transport until `drain()`. */
function recorder(made: { count: number }) {
  const writes: number[][] = [];
  let full = false;
  let release: (() => void) | undefined;
  const sink: StreamSink = {
    events(events, frames) {
      frames.memo('text', () => {
        made.count++;
        return events.map((e) => e.seq).join(',');
      });
      writes.push(events.map((e) => e.seq));
      return !full;
    },
    send: () => !full,
    drained: () => (full ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()),
  };
  return {
    sink,
    writes,
    seqs: () => writes.flat(),
    fill() {
      full = true;
    },
    drain() {
      full = false;
      release?.();
    },
  };
}

describe('fan-out group', () => {
  let dir: string;
  let orchestrator: Orchestrator;
  let hub: TailHub;
  let abort = new AbortController();
  const settings = (batch: number): GroupSettings => ({
    key: 'all',
    filter: compileFilter({ sessionId: 'ses-g' }),
    batch,
    heartbeatMs: 60_000,
  });

  const open = async (capacity: number) => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-fanout-'));
    orchestrator = await Orchestrator.open({
      config: loadConfig({ dataDir: dir, logLevel: 'silent', gateway: 'off' }, {}),
    });
    const log = orchestrator.log;
    hub = new TailHub(
      {
        read: (sessionId, r) => log.store.read(sessionId, r),
        lastSeq: (sessionId) => log.lastSeq(sessionId),
        subscribe: (sessionId, onEvent) => log.subscribe({ sessionId }, onEvent, { bufferSize: 100_000 }),
      },
      { capacity, pollMs: 50 },
    );
    await log.append('ses-g', [{ type: 'session.created', data: { name: 'g' } }]);
    return hub.acquire('ses-g');
  };
  beforeEach(() => {
    abort = new AbortController();
  });
  afterEach(async () => {
    abort.abort();
    hub?.stop();
    await orchestrator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each delivery once per client, encoded once for all, and gives a client ahead of it the rest on its own', async () => {
    const tail = await open(1000);
    const log = orchestrator.log;
    const made = { count: 0 };
    const first = recorder(made);
    const ahead = recorder(made);
    const aheadFull = recorder(made);
    aheadFull.fill();
    let handedBack: number | undefined;
    void followLive(tail, settings(100), 1, first.sink, abort.signal);
    // Join while the tail holds 2..11 and has not announced them: they say they have up to 5
    // and 7; the second one's transport fills with what it is given.
    let joined = false;
    log.subscribe({ sessionId: 'ses-g' }, (event: AnyEvent) => {
      if (event.seq !== 11 || joined) return;
      joined = true;
      expect(tail.lastSeq).toBe(11);
      void followLive(tail, settings(100), 5, ahead.sink, abort.signal);
      void followLive(tail, settings(100), 7, aheadFull.sink, abort.signal).then((cursor) => {
        handedBack = cursor;
      });
    });
    await log.append('ses-g', range(2, 11).map(memory));
    await waitFor(() => first.seqs().at(-1) === 11 && ahead.seqs().at(-1) === 11, 'both to reach 11');
    expect(first.writes).toEqual([range(2, 11)]);
    expect(ahead.writes).toEqual([range(6, 11)]);
    expect(aheadFull.writes).toEqual([range(8, 11)]);
    aheadFull.drain();
    await waitFor(() => handedBack !== undefined, 'the full one to be handed back');
    expect(handedBack).toBe(11);
    // From then on both are in the group: one write each, one encoding for both.
    made.count = 0;
    await log.append('ses-g', range(12, 21).map(memory));
    await waitFor(() => first.seqs().at(-1) === 21 && ahead.seqs().at(-1) === 21, 'both to reach 21');
    expect(first.writes.at(-1)).toEqual(range(12, 21));
    expect(ahead.writes.at(-1)).toEqual(range(12, 21));
    expect(made.count).toBe(1);
  });

  it('writes runs of at most a batch, and hands back a client whose transport filled once it drained', async () => {
    const tail = await open(1000);
    const log = orchestrator.log;
    const made = { count: 0 };
    const fast = recorder(made);
    const slow = recorder(made);
    void followLive(tail, settings(4), 1, fast.sink, abort.signal);
    let handedBack: number | undefined;
    void followLive(tail, settings(4), 1, slow.sink, abort.signal).then((cursor) => {
      handedBack = cursor;
    });
    slow.fill();
    await log.append('ses-g', range(2, 11).map(memory));
    await waitFor(() => fast.seqs().at(-1) === 11, 'the fast client to reach 11');
    expect(fast.writes).toEqual([range(2, 5), range(6, 9), range(10, 11)]);
    // The slow one took the first run and stopped there; it is handed back only once drained.
    expect(slow.writes).toEqual([range(2, 5)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handedBack).toBeUndefined();
    slow.drain();
    await waitFor(() => handedBack !== undefined, 'the slow client to be handed back');
    expect(handedBack).toBe(5);
    // The group goes on without it.
    await log.append('ses-g', range(12, 13).map(memory));
    await waitFor(() => fast.seqs().at(-1) === 13, 'the fast client to reach 13');
    expect(slow.seqs()).toEqual(range(2, 5));
  });

  it('hands every client back at its own cursor when more came in one turn than the tail keeps', async () => {
    const tail = await open(5);
    const log = orchestrator.log;
    const made = { count: 0 };
    const member = recorder(made);
    const handedBack = followLive(tail, settings(100), 1, member.sink, abort.signal);
    await log.append('ses-g', range(2, 31).map(memory));
    expect(await handedBack).toBe(1);
    expect(member.writes).toEqual([]);
  });
});

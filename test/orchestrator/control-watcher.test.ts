import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnyEvent, type NewEvent, prepareEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { ControlWatcher } from '../../src/orchestrator/control-watcher.ts';
import { openEventStore } from '../../src/store/index.ts';

// The watcher on a real event log (SQLite in a temporary folder). This process's appends go
// through the log and are published on its bus; another process's are written to the store
// alone, as a second process's would be, and only a poll finds them.

const SESSION = 'ses_watched';
let dir: string;
let log: EventLog;
let watcher: ControlWatcher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orch-watcher-'));
  log = new EventLog(await openEventStore({ kind: 'sqlite', path: join(dir, 'events.db'), synchronous: 'normal' }));
});

afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

function note(text: string): NewEvent {
  return { type: 'user.input', source: 'user', data: { value: text } };
}

/** Appended by this process: committed, then published on its bus. */
async function own(...texts: string[]): Promise<void> {
  await log.append(SESSION, texts.map(note));
  // The bus hands events to subscribers in a microtask after the commit.
  await new Promise((resolve) => setImmediate(resolve));
}

/** Appended by another process: in the store, never on this bus. */
async function foreign(...texts: string[]) {
  return log.store.append(
    SESSION,
    texts.map((text) => prepareEvent(note(text))),
  );
}

function watch(fromSeq = 0) {
  const seen: AnyEvent[] = [];
  watcher = new ControlWatcher({ log, sessionId: SESSION, fromSeq, pollMs: 60_000, onForeign: (e) => seen.push(e) });
  const texts = () => seen.map((e) => (e.data as { value: string }).value);
  return { seen, texts };
}

describe('ControlWatcher', () => {
  it('hands over only what other processes appended, each once, in log order', async () => {
    const { seen, texts } = watch();
    await own('a1', 'a2');
    await foreign('f1');
    await own('a3');
    await foreign('f2', 'f3');
    await own('a4', 'a5');
    await watcher?.poll();
    expect(texts()).toEqual(['f1', 'f2', 'f3']);
    expect(seen.map((e) => e.seq)).toEqual([3, 5, 6]);

    // Nothing twice; later foreign events after a long run of own ones are found too.
    await own(...Array.from({ length: 50 }, (_, i) => `run${i}`));
    await foreign('f4');
    await own('a6');
    await watcher?.poll();
    await watcher?.poll();
    expect(texts()).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(seen.at(-1)?.seq).toBe(59);
  });

  it('starts after what the owner already reflects', async () => {
    await foreign('before1', 'before2');
    const { texts } = watch(1);
    await foreign('after');
    await watcher?.poll();
    expect(texts()).toEqual(['before2', 'after']);
  });

  it('does not take an own event published while a poll reads for a foreign one', async () => {
    const { texts } = watch();
    await foreign('f1');
    await watcher?.poll();
    // Committed by this process but not published yet when the next poll reads the log (seqs
    // 2-3, with a foreign 4 after them): the poll reads 2-4, and the bus publishes 2-3 meanwhile.
    const committed = await log.store.append(SESSION, [prepareEvent(note('a1')), prepareEvent(note('a2'))]);
    await foreign('f2');
    const read = log.store.read.bind(log.store);
    log.store.read = async (sessionId, options) => {
      const events = await read(sessionId, options);
      log.bus.publish(committed);
      await new Promise((resolve) => setImmediate(resolve));
      return events;
    };
    try {
      await watcher?.poll();
    } finally {
      log.store.read = read;
    }
    expect(texts()).toEqual(['f1', 'f2']);
    await foreign('f3');
    await own('a3');
    await watcher?.poll();
    expect(texts()).toEqual(['f1', 'f2', 'f3']);
  });
});

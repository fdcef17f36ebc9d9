import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, type PendingEvent } from '../src/events/index.ts';
import { type EventStore, type LeaseStore, PostgresEventStore, SqliteEventStore } from '../src/store/index.ts';
import { dropSchema } from './postgres.ts';

/**
 * Durable append and catch-up read rates of the event stores. Appends: 200,000 pre-built events
 * (ids and times fixed beforehand, as `prepareEvent` would) go in as appends of 100 events from
 * 200 concurrent writers spread over 4 sessions, so group commit batches them; the clock stops
 * when the last append has resolved, i.e. is committed. Reads: one 200,000-event session read
 * page by page (1000 per page) with every checksum verified. SQLite appends run three times on
 * fresh files and report the median, since the machines are shared. "Fenced" appends are the
 * same appends by a session's owner: a lease per session first, then every append with its
 * fencing token, so each batch also reads its sessions' lease rows.
 */

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const EVENTS = 200_000;
const PER_APPEND = 100;
const WRITERS = 200;
const SESSIONS = 4;
const PAGE = 1000;
const ROUNDS = 3;

function pendingEvents(count: number, tag: string): PendingEvent[] {
  const ts = new Date().toISOString();
  const events: PendingEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    events[i] = {
      id: newId(),
      type: 'agent.progress',
      ts,
      source: 'bench',
      correlationId: null,
      causationId: null,
      data: { agentId: `agt_${tag}`, kind: 'text', text: `token ${i} of a streamed answer` },
    };
  }
  return events;
}

/**
 * Appends every event with `WRITERS` concurrent writers; returns the events per second. With
 * `fenced`, the sessions are leased first (untimed) and every append carries its token.
 */
async function appendRate(store: EventStore & LeaseStore, tag: string, fenced = false): Promise<number> {
  const events = pendingEvents(EVENTS, tag);
  const appends = EVENTS / PER_APPEND;
  const tokens: Array<number | undefined> = [];
  for (let s = 0; s < SESSIONS; s++) {
    const owner = { ownerId: `bench-${tag}`, host: 'bench', pid: process.pid };
    tokens.push(
      fenced ? (await store.acquireLease(`ses_${tag}_${s}`, owner, { ttlMs: 600_000 })).lease.token : undefined,
    );
  }
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      const fencingToken = tokens[writer % SESSIONS];
      const options = fencingToken === undefined ? undefined : { fencingToken };
      for (let i = next++; i < appends; i = next++) {
        const chunk = events.slice(i * PER_APPEND, (i + 1) * PER_APPEND);
        await store.append(`ses_${tag}_${writer % SESSIONS}`, chunk, options);
      }
    }),
  );
  return EVENTS / ((performance.now() - start) / 1000);
}

/** Fills one session untimed, then reads it back page by page; returns the events per second. */
async function readRate(store: EventStore, tag: string): Promise<number> {
  const sessionId = `ses_${tag}_catchup`;
  const events = pendingEvents(EVENTS, tag);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i += PER_APPEND) pending.push(store.append(sessionId, events.slice(i, i + PER_APPEND)));
  await Promise.all(pending);
  let read = 0;
  const start = performance.now();
  for (let fromSeq = 1; ; ) {
    const page = await store.read(sessionId, { fromSeq, limit: PAGE });
    read += page.length;
    if (page.length < PAGE) break;
    fromSeq = (page.at(-1)?.seq ?? 0) + 1;
  }
  const seconds = (performance.now() - start) / 1000;
  if (read !== EVENTS) throw new Error(`catch-up read ${read} events, expected ${EVENTS}`);
  return EVENTS / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function sqliteResults(dir: string): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [synchronous, fenced] of [
    ['full', false],
    ['full', true],
    ['normal', false],
  ] as const) {
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(dir, `append-${synchronous}-${fenced ? 'fenced-' : ''}${round}.db`);
      const store = await SqliteEventStore.open({ path: file, synchronous });
      try {
        rates.push(await appendRate(store, `sqlite_${synchronous}_${round}`, fenced));
      } finally {
        await store.close();
      }
    }
    const mode = `synchronous=${synchronous.toUpperCase()}${fenced ? ', fenced' : ''}`;
    results.push(
      {
        name: `sqlite append, group commit, ${mode}, median of ${ROUNDS}`,
        value: Math.round(median(rates)),
        unit: 'events/s',
        target: '>= 200000',
      },
      {
        name: `sqlite append, group commit, ${mode}, best of ${ROUNDS}`,
        value: Math.round(Math.max(...rates)),
        unit: 'events/s',
      },
    );
  }
  const store = await SqliteEventStore.open({ path: join(dir, 'read.db') });
  try {
    const value = await readRate(store, 'sqlite');
    results.push({ name: 'sqlite catch-up read, 1000-event pages', value: Math.round(value), unit: 'events/s' });
  } finally {
    await store.close();
  }
  return results;
}

async function postgresResults(): Promise<BenchResult[]> {
  const url = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
  const schema = `orch_bench_${Date.now().toString(36)}`;
  let store: PostgresEventStore;
  try {
    store = await PostgresEventStore.open({ url, schema });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return [{ name: `postgres (skipped: ${why})`, value: 0, unit: 'events/s' }];
  }
  try {
    const append = await appendRate(store, 'pg');
    const fenced = await appendRate(store, 'pg_fenced', true);
    const read = await readRate(store, 'pg');
    return [
      { name: 'postgres append, group commit', value: Math.round(append), unit: 'events/s' },
      { name: 'postgres append, group commit, fenced', value: Math.round(fenced), unit: 'events/s' },
      { name: 'postgres catch-up read, 1000-event pages', value: Math.round(read), unit: 'events/s' },
    ];
  } finally {
    await store.close();
    await dropSchema(url, schema);
  }
}

/** Runs every store measurement; PostgreSQL rows say why when the server is not reachable. */
export default async function storeBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'orch-store-bench-'));
  try {
    return [...(await sqliteResults(dir)), ...(await postgresResults())];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const row of await storeBench()) {
    console.log(
      `${row.name}: ${row.value.toLocaleString('en-US')} ${row.unit}${row.target ? ` (target ${row.target})` : ''}`,
    );
  }
}

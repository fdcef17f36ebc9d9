import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyEvent, NewEvent } from '../src/events/index.ts';
import { EventLog } from '../src/log/index.ts';
import { ChangedChunks } from '../src/sessions/changed-chunks.ts';
import { AutoVersions, SessionVersions, StateChunker } from '../src/sessions/index.ts';
import {
  type Blob,
  type NewVersion,
  type OrchestratorStore,
  PostgresEventStore,
  SqliteEventStore,
  type VersionStore,
} from '../src/store/index.ts';
import { applyEvent, cloneState, emptySessionState, replay, type SessionState } from '../src/workflow/index.ts';
import { dropSchema } from './postgres.ts';

/**
 * Versions of a 10,000-node session on both stores, through the sessions layer: the first
 * version (every chunk new), a second one after 10 nodes changed (storage must grow with the
 * change), and a verified load. The store's own share (putBlobs + putVersion, getVersion +
 * getBlobs) is measured by timing the calls the sessions layer makes; the rest is chunking,
 * hashing, compression and verification. Median of 5 rounds, each on a fresh session.
 */

interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}

const NODES = 10_000;
const ROUNDS = 5;

/** A second attempt of a node of {@link bigState}, as the log would hand it to the follower. */
function nodeStarted(state: SessionState, nodeId: string): AnyEvent {
  return {
    id: `evt_${state.lastSeq + 1}`,
    type: 'node.started',
    sessionId: state.sessionId,
    seq: state.lastSeq + 1,
    ts: '2026-01-01T00:00:02.000Z',
    source: 'engine',
    correlationId: 'wf_bench',
    causationId: null,
    data: { workflowId: 'wf_bench', nodeId, attempt: 2 },
  } as AnyEvent;
}

function bigState(sessionId: string, salt: string): SessionState {
  const state = emptySessionState(sessionId);
  const nodes: Record<string, unknown> = {};
  for (let i = 0; i < NODES; i++) {
    nodes[`n${i}`] = {
      id: `n${i}`,
      status: 'completed',
      attempts: 1,
      interruptions: 0,
      output: { summary: `node ${i} wrote module ${i % 97} (${salt})`, files: [`src/m${i}.ts`] },
      agentId: `agt_${i}`,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:01.000Z',
    };
  }
  (state.workflows as Record<string, unknown>).wf_bench = {
    workflowId: 'wf_bench',
    name: 'bench',
    status: 'running',
    // Its nodes listed as a run's are: a version keeps them in chunks in that order.
    definition: { name: 'bench', nodes: Object.keys(nodes).map((id) => ({ id, task: id })) },
    inputs: {},
    file: undefined,
    addedNodes: [],
    nodes,
    inputRequests: {},
    answers: {},
    paused: false,
    cancelRequested: false,
    rollingBack: false,
    startedAt: '2026-01-01T00:00:00.000Z',
  };
  state.lastSeq = NODES * 4;
  return state;
}

/** Milliseconds spent in the store's calls, by kind. */
interface Spent {
  blobs: number;
  version: number;
  read: number;
}

/** A VersionStore that adds up the time spent in the store's calls. */
function timed(store: VersionStore, spent: Spent): VersionStore {
  const time = async <T>(kind: keyof Spent, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await call();
    } finally {
      spent[kind] += performance.now() - start;
    }
  };
  return {
    putBlobs: (blobs: readonly Blob[]) => time('blobs', () => store.putBlobs(blobs)),
    getBlobs: (hashes: readonly string[]) => time('read', () => store.getBlobs(hashes)),
    putVersion: (version: NewVersion) => time('version', () => store.putVersion(version)),
    listVersions: (sessionId: string) => time('read', () => store.listVersions(sessionId)),
    getVersion: (sessionId: string, version: number) => time('read', () => store.getVersion(sessionId, version)),
    deleteVersions: (sessionId: string, versions: readonly number[]) => store.deleteVersions(sessionId, versions),
    deleteUnreferencedBlobs: () => store.deleteUnreferencedBlobs(),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function measure(store: OrchestratorStore, kind: string): Promise<BenchResult[]> {
  const take1 = { all: [] as number[], blobs: [] as number[], version: [] as number[] };
  const take2 = { all: [] as number[], blobs: [] as number[], version: [] as number[] };
  const load = { all: [] as number[], store: [] as number[] };
  let firstBytes = 0;
  let secondBytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const spent: Spent = { blobs: 0, version: 0, read: 0 };
    const versions = new SessionVersions(new EventLog(store), timed(store, spent));
    const salt = `${Date.now().toString(36)}_${round}`;
    const state = bigState(`ses_bench_${kind}_${salt}`, salt);
    // One chunker per session, as the auto-versions follower keeps: the second version cuts
    // only what changed.
    const chunker = new StateChunker();
    let start = performance.now();
    const first = await versions.take(state, { chunker });
    take1.all.push(performance.now() - start);
    take1.blobs.push(spent.blobs);
    take1.version.push(spent.version);
    firstBytes = first.newBytes;
    // Changed as the follower changes its state: by events, whose changed chunks are noted,
    // so the version cuts only those.
    const tracker = new ChangedChunks();
    for (let i = 0; i < 10; i++) {
      const applied = nodeStarted(state, `n${i * 997}`);
      applyEvent(state, applied);
      tracker.note(applied, state);
    }
    Object.assign(spent, { blobs: 0, version: 0 });
    start = performance.now();
    const second = await versions.take(state, { chunker, dirty: tracker.take() });
    take2.all.push(performance.now() - start);
    take2.blobs.push(spent.blobs);
    take2.version.push(spent.version);
    secondBytes = second.newBytes;
    spent.read = 0;
    start = performance.now();
    const loaded = await versions.load(state.sessionId, second.version);
    load.all.push(performance.now() - start);
    load.store.push(spent.read);
    if (Object.keys(loaded.state.workflows.wf_bench?.nodes ?? {}).length !== NODES) throw new Error('load lost nodes');
  }
  const ms = (values: number[]) => Math.round(median(values) * 10) / 10;
  return [
    { name: `${kind}: first version of ${NODES} nodes (take)`, value: ms(take1.all), unit: 'ms' },
    { name: `${kind}:   store putBlobs (all new)`, value: ms(take1.blobs), unit: 'ms' },
    { name: `${kind}:   store putVersion (names its root page)`, value: ms(take1.version), unit: 'ms' },
    { name: `${kind}:   bytes of new blobs`, value: firstBytes, unit: 'bytes' },
    { name: `${kind}: next version, 10 nodes changed (take, tracked changes)`, value: ms(take2.all), unit: 'ms' },
    { name: `${kind}:   store putBlobs (10 new)`, value: ms(take2.blobs), unit: 'ms' },
    { name: `${kind}:   store putVersion`, value: ms(take2.version), unit: 'ms' },
    { name: `${kind}:   bytes of new blobs`, value: secondBytes, unit: 'bytes' },
    { name: `${kind}: verified load of ${NODES} nodes`, value: ms(load.all), unit: 'ms' },
    { name: `${kind}:   store getVersion + getBlobs`, value: ms(load.store), unit: 'ms' },
  ];
}

/**
 * The auto-versions follower during a simulated 10,000-node run on SQLite: the run's events
 * (node.started and node.completed of each node, committed in batches of 100 as the engine
 * does) are appended once without a follower and once with one. Figures: the CPU the follower
 * adds (share of the run's CPU), versions taken, and the time from the last event to the last
 * version stored (what `close()` waits for). Median of 3.
 */
export async function follower(dir: string): Promise<BenchResult[]> {
  const store = await SqliteEventStore.open({ path: join(dir, 'follower.db'), synchronous: 'full' });
  const log = new EventLog(store);
  const versions = new SessionVersions(log, store);
  const shares: number[] = [];
  const added: number[] = [];
  const finals: number[] = [];
  const taken: number[] = [];
  const baseCpu: number[] = [];
  try {
    const run = async (round: number, follow: boolean) => {
      const sessionId = `ses_follow_${round}_${follow ? 'f' : 'b'}_${Date.now().toString(36)}`;
      const definition = {
        name: 'bench',
        nodes: Array.from({ length: NODES }, (_, i) => ({ id: `n${i}`, task: 'noop' })),
      };
      const start = await log.append(sessionId, [
        { type: 'session.created', data: {} },
        { type: 'workflow.started', data: { workflowId: 'wf', name: 'bench', definition } },
      ] as NewEvent[]);
      const auto = follow
        ? AutoVersions.start({ log, versions, state: cloneState(replay(sessionId, start)) })
        : undefined;
      const cpu = process.cpuUsage();
      for (let i = 0; i < NODES; i += 100) {
        const batch: NewEvent[] = [];
        for (let j = i; j < i + 100; j++) {
          batch.push({ type: 'node.started', data: { workflowId: 'wf', nodeId: `n${j}`, attempt: 1 } } as NewEvent);
          batch.push({ type: 'node.completed', data: { workflowId: 'wf', nodeId: `n${j}`, output: j } } as NewEvent);
        }
        await log.append(sessionId, batch);
      }
      const lastEvent = performance.now();
      await auto?.stop({ final: true, untilSeq: await log.lastSeq(sessionId) });
      const final = performance.now() - lastEvent;
      const used = process.cpuUsage(cpu);
      return { cpu: (used.user + used.system) / 1000, final, taken: auto?.taken ?? 0 };
    };
    await run(0, false); // warm-up
    for (let round = 1; round <= Number(process.env.ROUNDS ?? 3); round++) {
      const base = await run(round, false);
      const withFollower = await run(round, true);
      baseCpu.push(base.cpu);
      added.push(withFollower.cpu - base.cpu);
      shares.push((100 * (withFollower.cpu - base.cpu)) / withFollower.cpu);
      finals.push(withFollower.final);
      taken.push(withFollower.taken);
    }
  } finally {
    await log.close();
  }
  const one = (v: number) => Math.round(v * 10) / 10;
  return [
    { name: `follower: CPU of a ${NODES}-node run's events without versions`, value: one(median(baseCpu)), unit: 'ms' },
    { name: 'follower:   CPU the follower and its versions add', value: one(median(added)), unit: 'ms' },
    // Of this simulated run, which costs a fraction of a real engine run's CPU.
    { name: 'follower:   the same, share of the simulated run', value: one(median(shares)), unit: '%' },
    { name: 'follower:   versions taken during the run', value: median(taken), unit: 'versions' },
    {
      name: 'follower:   last event to final version stored',
      value: one(median(finals)),
      unit: 'ms',
      target: '<= 200',
    },
  ];
}

/** Both stores; the PostgreSQL rows say why when the server is not reachable. */
export default async function versionsBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'orch-versions-bench-'));
  const results: BenchResult[] = [];
  try {
    const sqlite = await SqliteEventStore.open({ path: join(dir, 'versions.db') });
    try {
      results.push(...(await measure(sqlite, 'sqlite')));
    } finally {
      await sqlite.close();
    }
    results.push(...(await follower(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const url = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
  const schema = `orch_bench_v_${Date.now().toString(36)}`;
  let postgres: PostgresEventStore;
  try {
    postgres = await PostgresEventStore.open({ url, schema });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return [...results, { name: `postgres (skipped: ${why})`, value: 0, unit: 'ms' }];
  }
  try {
    results.push(...(await measure(postgres, 'postgres')));
  } finally {
    await postgres.close();
    await dropSchema(url, schema);
  }
  return results;
}

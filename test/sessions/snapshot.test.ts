import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import { canonicalJson } from '../../src/events/index.ts';
import { unpack } from '../../src/sessions/blob-pack.ts';
import {
  migrateState,
  readSnapshot,
  SNAPSHOT_SCHEMA_VERSION,
  StateChunker,
  writeSnapshot,
} from '../../src/sessions/index.ts';
import { NODES_PER_CHUNK } from '../../src/sessions/node-buckets.ts';
import { emptySessionState, type NodeState, type SessionState } from '../../src/workflow/index.ts';

function stateWith(nodes: number, seq = 1): SessionState {
  const state = emptySessionState('ses_test');
  state.lastSeq = seq;
  state.workspace = '/tmp/ws';
  const nodeStates: Record<string, NodeState> = {};
  for (let i = 0; i < nodes; i++) {
    nodeStates[`n${i}`] = { id: `n${i}`, status: 'pending', attempts: 0, interruptions: 0 };
  }
  (state.workflows as Record<string, unknown>).wf_1 = {
    workflowId: 'wf_1',
    name: 'big',
    status: 'running',
    definition: { name: 'big', nodes: Object.keys(nodeStates).map((id) => ({ id, task: `task of ${id}` })) },
    inputs: { topic: 'x' },
    file: 'big.yaml',
    addedNodes: [],
    nodes: nodeStates,
    inputRequests: {},
    answers: {},
    paused: false,
    cancelRequested: false,
    rollingBack: false,
    startedAt: '2026-11-28T00:00:00.000Z',
  };
  state.memory.plan = { steps: [1, 2, 3] };
  return state;
}

/** A blob store as a plain map, with the read function a version store offers. */
function blobMap() {
  const blobs = new Map<string, Uint8Array>();
  return {
    blobs,
    add: (more: Map<string, Uint8Array>) => {
      for (const [hash, bytes] of more) blobs.set(hash, bytes);
    },
    fetch: async (hashes: string[]) => {
      const found = new Map<string, Uint8Array>();
      for (const hash of hashes) {
        const bytes = blobs.get(hash);
        if (bytes) found.set(hash, bytes);
      }
      return found;
    },
  };
}

const where = { sessionId: 'ses_test', version: 3 };

async function roundTrip(state: SessionState) {
  const store = blobMap();
  const written = writeSnapshot(state, new StateChunker(), () => false);
  store.add(written.newBlobs);
  const record = { manifest: written.manifest, checksum: written.checksum, schemaVersion: SNAPSHOT_SCHEMA_VERSION };
  return { store, written, record, read: await readSnapshot(where, record, store.fetch) };
}

describe('snapshots', () => {
  it('read back equal to the state they were written from', async () => {
    const state = stateWith(300);
    (state.workflows.wf_1 as { nodes: Record<string, NodeState> }).nodes.n7 = {
      id: 'n7',
      status: 'completed',
      attempts: 2,
      interruptions: 1,
      output: { verdict: 'ok', notes: ['a', 'b'] },
    };
    state.memory['key/with/slashes'] = 42;
    state.agents.agt_1 = {
      agentId: 'agt_1',
      agentType: 'coder',
      nodeId: 'n7',
      state: 'completed',
      costUsd: 0.01,
      inputTokens: 10,
      outputTokens: 5,
    };
    const { read } = await roundTrip(state);
    expect(read).toEqual(state);
  });

  it('read back a memory key named __proto__ as a key, leaving the memory a plain object', async () => {
    const state = stateWith(2);
    Object.defineProperty(state.memory, '__proto__', {
      value: { polluted: true },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    const { read } = await roundTrip(state);
    expect(Object.getPrototypeOf(read.memory)).toBe(Object.prototype);
    expect((read.memory as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(read.memory, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('store in proportion to the change: one changed node of 10,000 writes a few small blobs', async () => {
    for (const size of [1_000, 10_000]) {
      const state = stateWith(size);
      // Every node under way: a pending node has no chunk of its own (see the next test).
      for (const node of Object.values((state.workflows.wf_1 as { nodes: Record<string, NodeState> }).nodes)) {
        node.status = 'running';
        node.attempts = 1;
      }
      const chunker = new StateChunker();
      const known = new Set<string>();
      const first = writeSnapshot(state, chunker, (h) => known.has(h));
      chunker.markStored(first.newBlobs.keys());
      for (const hash of first.newBlobs.keys()) known.add(hash);
      const node = (state.workflows.wf_1 as { nodes: Record<string, NodeState> }).nodes[`n${size >> 1}`] as NodeState;
      node.status = 'completed';
      node.output = 'done';
      state.lastSeq++;
      const second = writeSnapshot(state, chunker, (h) => known.has(h));
      const bytes = [...second.newBlobs.values()].reduce((sum, b) => sum + b.byteLength, 0);
      // The node's bucket, the session chunk and one page per tree level; none of it grows
      // with the size.
      expect(second.newBlobs.size).toBeLessThanOrEqual(8);
      expect(bytes).toBeLessThan(8_000);
      // Nodes share chunks of NODES_PER_CHUNK: one blob per bucket, not per node.
      expect(first.chunks).toBe(Math.ceil(size / NODES_PER_CHUNK) + 5);
      expect(first.newBlobs.size).toBeLessThan(size / 10);
    }
  });

  it('store every chunk but the definition as canonical JSON, a bucket of nodes joined from their texts too', async () => {
    // Ids whose order by code unit differs from a natural one, with quotes, escapes and
    // characters outside ASCII: a bucket's text must be what canonicalJson makes of it.
    const ids = ['n10', 'n9', 'N1', 'n"q"', 'n\\b', 'é', '日本', 'z\u2028', '__proto__x', 'a-b', 'a_b', 'a.b'];
    const state = stateWith(0);
    const wf = state.workflows.wf_1 as unknown as {
      definition: { nodes: Array<{ id: string }> };
      nodes: Record<string, NodeState>;
    };
    wf.definition = { ...wf.definition, nodes: ids.map((id) => ({ id })) };
    for (const [i, id] of ids.entries()) {
      wf.nodes[id] = { id, status: 'completed', attempts: 1, interruptions: 0, output: { i, text: `out ${id}` } };
    }
    const { written, read } = await roundTrip(state);
    expect(read).toEqual(state);
    let buckets = 0;
    // The definition's chunk is its plain JSON (the compiled definition's order, see chunks.ts).
    const definition = JSON.stringify({ definition: wf.definition });
    let definitions = 0;
    for (const bytes of written.newBlobs.values()) {
      const text = unpack(bytes);
      if (text === definition) definitions++;
      else expect(canonicalJson(JSON.parse(text))).toBe(text);
      if (ids.every((id) => text.includes(JSON.stringify(id)))) buckets++;
    }
    // All twelve in one bucket (fewer than NODES_PER_CHUNK), named by the one chunk.
    expect(buckets).toBeGreaterThanOrEqual(1);
    expect(definitions).toBe(1);
  });

  it('leave pending nodes out, and make them again in the order the reducer makes them when read', async () => {
    const state = stateWith(5_000);
    const wf = state.workflows.wf_1 as unknown as { nodes: Record<string, NodeState>; addedNodes: unknown[] };
    wf.addedNodes.push({ id: 'late', task: 'added at run time' });
    wf.nodes.late = { id: 'late', status: 'pending', attempts: 0, interruptions: 0 };
    Object.assign(wf.nodes.n7 as NodeState, { status: 'completed', attempts: 1, output: 'seven' });
    // Pending again after an interruption is not as it started: it keeps its chunk.
    Object.assign(wf.nodes.n8 as NodeState, { interruptions: 1 });
    const written = writeSnapshot(state, new StateChunker(), () => false);
    // The session, the workflow's header, definition and added list, memory, and the bucket of
    // n7 and n8: nothing for pending nodes.
    expect(written.chunks).toBe(6);
    expect(written.newBlobs.size).toBeLessThan(20);
    const { read } = await roundTrip(state);
    expect(read).toEqual(state);
    const nodes = (read.workflows.wf_1 as unknown as { nodes: Record<string, NodeState> }).nodes;
    expect(Object.keys(nodes)).toEqual(Object.keys(wf.nodes));
    expect(nodes.n8).toEqual({ id: 'n8', status: 'pending', attempts: 0, interruptions: 1 });
  });

  it('cut incrementally exactly as a fresh chunker cuts the same state', () => {
    const step = fc.record({
      node: fc.nat(49),
      status: fc.constantFrom('running', 'completed', 'failed', 'pending'),
      memoryKey: fc.option(fc.constantFrom('a', 'b', 'c/d'), { nil: undefined }),
      drop: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const state = stateWith(50);
        const incremental = new StateChunker();
        for (const s of steps) {
          const node = (state.workflows.wf_1 as { nodes: Record<string, NodeState> }).nodes[`n${s.node}`] as NodeState;
          node.status = s.status as NodeState['status'];
          node.attempts++;
          if (s.memoryKey) {
            if (s.drop) delete state.memory[s.memoryKey];
            else state.memory[s.memoryKey] = { step: node.attempts };
          }
          state.lastSeq++;
          const a = writeSnapshot(state, incremental, () => false);
          incremental.markStored(a.newBlobs.keys());
          const b = writeSnapshot(state, new StateChunker(), () => false);
          expect(a.checksum).toBe(b.checksum);
        }
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('fail closed, naming the version, when a blob is damaged, missing or the manifest is wrong', async () => {
    const { store, written, record } = await roundTrip(stateWith(100));
    const expectCorrupt = async (promise: Promise<unknown>, text: RegExp) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OrchestratorError);
      expect(error).toMatchObject({ code: 'SNAPSHOT_CORRUPT', details: where });
      expect((error as Error).message).toMatch(/version 3 of session ses_test/);
      expect((error as Error).message).toMatch(text);
    };
    // A damaged chunk: same length, one byte changed (the deflate data may still decode).
    const [victim] = [...written.newBlobs.keys()].filter((h) => h !== written.checksum);
    const original = store.blobs.get(victim as string) as Uint8Array;
    const damaged = Uint8Array.from(original);
    damaged[damaged.length - 1] = (damaged.at(-1) as number) ^ 0xff;
    store.blobs.set(victim as string, damaged);
    await expectCorrupt(
      readSnapshot(where, record, store.fetch),
      /chunk [0-9a-f]{12} (does not match its hash|cannot be decompressed)/,
    );
    store.blobs.delete(victim as string);
    await expectCorrupt(readSnapshot(where, record, store.fetch), /missing/);
    store.blobs.set(victim as string, original);
    await expectCorrupt(
      readSnapshot(where, { ...record, checksum: 'f'.repeat(64) }, store.fetch),
      /manifest does not match its checksum/,
    );
    await expectCorrupt(
      readSnapshot(where, { ...record, manifest: new TextEncoder().encode('{not json') }, store.fetch),
      /manifest cannot be decoded/,
    );
    await expect(readSnapshot(where, record, store.fetch)).resolves.toBeDefined();
  });

  it('refuse a newer format, and one with no migration path, rather than guess', async () => {
    const { store, record } = await roundTrip(stateWith(3));
    await expect(
      readSnapshot(where, { ...record, schemaVersion: SNAPSHOT_SCHEMA_VERSION + 1 }, store.fetch),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_UNSUPPORTED', details: { schemaVersion: SNAPSHOT_SCHEMA_VERSION + 1 } });
    const formats = { current: 3, migrations: { 1: (s: Record<string, unknown>) => ({ ...s, step1: true }) } };
    expect(() => migrateState(where, stateWith(1), 1, formats)).toThrow(/cannot bring format 2 forward/);
  });

  it('bring an older format forward one step at a time', () => {
    const formats = {
      current: 3,
      migrations: {
        1: (s: Record<string, unknown>) => ({ ...s, name: `${s.name}+1` }),
        2: (s: Record<string, unknown>) => ({ ...s, name: `${s.name}+2` }),
      },
    };
    const state = stateWith(1);
    state.name = 'old';
    expect(migrateState(where, state, 1, formats).name).toBe('old+1+2');
    expect(migrateState(where, state, 2, formats).name).toBe('old+2');
  });
});

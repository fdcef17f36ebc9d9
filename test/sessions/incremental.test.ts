import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnyEvent, EVENT_TYPES } from '../../src/events/index.ts';
import { unpack } from '../../src/sessions/blob-pack.ts';
import { ChangedChunks } from '../../src/sessions/changed-chunks.ts';
import { SessionVersions, StateChunker, writeSnapshot } from '../../src/sessions/index.ts';
import { buildTree, PageTree } from '../../src/sessions/merkle.ts';
import { NODES_PER_CHUNK, OWN_CHUNK_FROM_CHARS } from '../../src/sessions/node-buckets.ts';
import type { Blob, OrchestratorStore, VersionStore } from '../../src/store/index.ts';
import { applyEvent, emptySessionState, type PlanFunctions, replay } from '../../src/workflow/index.ts';
import { type EngineKit, startEngineKit, type TestNode, testWorkflow } from '../support/engine-kit.ts';

// Versions cut only the chunks the follower's events changed (ChangedChunks). What is checked:
// a cut from the noted changes always equals a fresh cut of the whole state, on real engine
// events plus every other kind of event the projection knows; the page tree updated in place
// equals the tree built anew; and with the real store, a version after 10 changed nodes of
// 2,000 writes only those chunks (and the pages above them).

let kit: EngineKit;
beforeAll(async () => {
  kit = await startEngineKit();
});
afterAll(() => kit.cleanup());

/** An event as the log would hand it to the follower (the projection reads type, data, seq, ts). */
function event(type: string, data: Record<string, unknown>, seq: number): AnyEvent {
  return {
    id: `evt_${seq}`,
    type,
    sessionId: 'ses_x',
    seq,
    ts: new Date(1_800_000_000_000 + seq).toISOString(),
    source: 'test',
    correlationId: null,
    causationId: null,
    data,
  } as unknown as AnyEvent;
}

/** The events of a real run (retries, failures, skips) with every other kind the projection knows woven in. */
async function sessionEvents(): Promise<AnyEvent[]> {
  const nodes: TestNode[] = Array.from({ length: 12 }, (_, i) => ({
    id: `n${i}`,
    dependsOn: i === 0 ? [] : [`n${Math.floor((i - 1) / 2)}`],
    trigger: 'all_done',
    retry: { attempts: 2, backoff: { initial: 1, max: 1 } },
  }));
  const tries = new Map<string, number>();
  const functions: PlanFunctions = Object.fromEntries(
    nodes.map((node, i) => [
      node.id,
      async () => {
        const n = (tries.get(node.id) ?? 0) + 1;
        tries.set(node.id, n);
        if (i % 5 === 3 && n === 1) throw new Error('flaky');
        if (i === 7) throw new Error('broken');
        return { node: i, try: n, notes: [`${i}`] };
      },
    ]),
  );
  const { run, sessionId } = await kit.start(testWorkflow({ onFailure: 'continue', nodes }), { functions });
  await run.run();
  const real = await kit.events(sessionId);
  const started = real.find((e) => e.type === 'workflow.started');
  const workflowId = (started?.data as { workflowId?: string } | undefined)?.workflowId ?? 'missing';
  const extra = (seq: number): AnyEvent[] => [
    event('memory.set', { key: `k${seq % 3}`, value: { seq, list: [seq] }, by: 'user' }, seq),
    event('memory.set', { key: 'a/b', value: seq, by: 'user' }, seq),
    event('agent.spawned', { agentId: `agt_${seq}`, agentType: 'coder', nodeId: 'n1', workflowId }, seq),
    event('agent.state_changed', { agentId: `agt_${seq}`, from: 'initializing', to: 'thinking' }, seq),
    event('agent.progress', { agentId: `agt_${seq}`, kind: 'init', sdkSessionId: `sdk_${seq}` }, seq),
    event('agent.completed', { agentId: `agt_${seq}`, costUsd: 0.5, output: { seq } }, seq),
    event('control.requested', { controlId: `ctl_${seq}`, action: 'pause', by: 'user' }, seq),
    event(
      'security.granted',
      { agentType: 'coder', rule: `Bash(echo ${seq}:*)`, by: 'user', controlId: `ctl_${seq}` },
      seq,
    ),
    event('session.forked', {}, seq),
    event(
      'workflow.modified',
      { workflowId, agentType: 'planner', changes: [{ op: 'add_nodes', nodes: [{ id: `added_${seq}`, task: 't' }] }] },
      seq,
    ),
  ];
  // A node added at run time that runs, has an agent, and asks a human: every path to a node.
  const lifecycle = (seq: number): AnyEvent[] => {
    const nodeId = `life_${seq}`;
    const agentId = `agt_life_${seq}`;
    return [
      event(
        'workflow.modified',
        { workflowId, changes: [{ op: 'add_nodes', nodes: [{ id: nodeId, task: 't' }] }] },
        seq,
      ),
      event('node.queued', { workflowId, nodeId, held: true }, seq),
      event('node.started', { workflowId, nodeId, attempt: 1, agentId }, seq),
      event('agent.spawned', { agentId, agentType: 'coder', nodeId, workflowId }, seq),
      event('input.requested', { workflowId, requestId: `req_a${seq}`, kind: 'question', prompt: '?', nodeId }, seq),
      event('user.input', { requestId: `req_a${seq}`, value: 'yes' }, seq),
      event('input.requested', { workflowId, requestId: `req_b${seq}`, kind: 'question', prompt: '?', nodeId }, seq),
      event('input.closed', { workflowId, requestId: `req_b${seq}`, reason: 'timeout' }, seq),
      event('input.requested', { requestId: `req_c${seq}`, kind: 'question', prompt: 'no workflow' }, seq),
      event('agent.failed', { agentId, costUsd: 0.1, error: { code: 'X', message: 'x', retryable: true } }, seq),
      event('agent.completed', { agentId, costUsd: 0.2, output: { seq } }, seq),
      event('node.interrupted', { workflowId, nodeId, reason: 'stopped' }, seq),
      event('node.compensating', { workflowId, nodeId }, seq),
      event('node.compensated', { workflowId, nodeId, ok: true }, seq),
      // Large enough for a chunk of its own (OWN_CHUNK_FROM_CHARS), then pending again (no
      // chunk: re-added), then small in a bucket.
      event('node.completed', { workflowId, nodeId, output: 'x'.repeat(OWN_CHUNK_FROM_CHARS) }, seq),
      event(
        'workflow.modified',
        { workflowId, changes: [{ op: 'add_nodes', nodes: [{ id: nodeId, task: 't' }] }] },
        seq,
      ),
      event('node.started', { workflowId, nodeId, attempt: 1 }, seq),
      event('workflow.paused', { workflowId, reason: 'user' }, seq),
      event('workflow.resumed', { workflowId }, seq),
      event('security.revoked', { agentType: 'coder', rule: `Bash(echo ${seq}:*)`, by: 'user' }, seq),
      event('session.imported', { workspace: `/tmp/imported_${seq}` }, seq),
    ];
  };
  // One event of every type the catalog has, with ids that name what the session holds: a type
  // the projection handles but ChangedChunks does not know changes something it misses.
  const everyType = (seq: number): AnyEvent[] =>
    EVENT_TYPES.filter((type) => type !== 'workflow.started' && type !== 'workflow.modified').map((type) =>
      event(
        type,
        {
          workflowId,
          nodeId: 'n3',
          agentId: `agt_${seq}`,
          requestId: `req_c${seq}`,
          controlId: `ctl_${seq}`,
          key: 'k1',
          value: { type },
          by: 'user',
          reason: 'r',
          output: { type },
          status: 'running',
          attempt: 9,
          kind: 'init',
          sdkSessionId: `sdk_${type}`,
          to: 'thinking',
          agentType: 'coder',
          rule: 'Bash(ls:*)',
          ok: false,
          willRetry: true,
          retryInMs: 5,
          error: { code: 'X', message: type, retryable: false },
          workspace: `/tmp/${type}`,
        },
        seq,
      ),
    );
  const woven: AnyEvent[] = [];
  for (const [i, e] of real.entries()) {
    woven.push(e);
    if (i % 9 === 4) woven.push(...extra(e.seq));
    if (i % 13 === 6) woven.push(...lifecycle(e.seq));
    if (i === Math.floor(real.length / 2)) woven.push(...everyType(e.seq));
  }
  woven.push(...extra(woven.length), ...lifecycle(woven.length), ...everyType(woven.length + 1));
  // Seqs must only grow, as in a log.
  return woven.map((e, i) => ({ ...e, seq: i + 1 }) as AnyEvent);
}

describe('incremental versions', () => {
  it('a cut of the chunks the tracker noted equals a fresh cut of the whole state, at any point of any session', async () => {
    const events = await sessionEvents();
    await fc.assert(
      fc.asyncProperty(
        // After each event: nothing, a cut without a version (as while a version waits), or a version.
        fc.array(fc.constantFrom('none', 'none', 'none', 'prepare', 'version'), {
          minLength: events.length,
          maxLength: events.length,
        }),
        async (steps) => {
          const state = emptySessionState('ses_x');
          const tracker = new ChangedChunks();
          const chunker = new StateChunker();
          const known = new Set<string>();
          const version = () => {
            const cut = writeSnapshot(state, chunker, (h) => known.has(h), tracker.take());
            chunker.markStored(cut.newBlobs.keys());
            for (const hash of cut.newBlobs.keys()) known.add(hash);
            const fresh = writeSnapshot(state, new StateChunker(), () => false);
            expect(cut.checksum).toBe(fresh.checksum);
            // Every blob the version names was handed out by this or an earlier cut.
            for (const hash of cut.blobHashes) expect(known.has(hash)).toBe(true);
          };
          for (const [i, step] of steps.entries()) {
            applyEvent(state, events[i] as AnyEvent);
            tracker.note(events[i] as AnyEvent, state);
            if (step === 'prepare') chunker.prepare(state, tracker.take(), i % 2 === 0);
            else if (step === 'version') version();
          }
          version();
          expect(state).toEqual(replay('ses_x', events));
        },
      ),
      { seed: 20261206, numRuns: 30 },
    );
  });

  it('a page tree updated in place equals the tree built anew', () => {
    const paths = Array.from({ length: 600 }, (_, i) => `workflows/wf/nodes/n${String(i).padStart(4, '0')}`).sort();
    const hash = (i: number, salt: number) => `${(i * 7919 + salt * 104729).toString(16).padStart(64, '0')}`;
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(599), { maxLength: 30 }), { minLength: 1, maxLength: 6 }), (rounds) => {
        const tree = new PageTree();
        const salts = paths.map(() => 0);
        const entries = () => paths.map((path, i) => [path, hash(i, salts[i] as number)] as const);
        expect(tree.update(entries(), () => false)).toEqual(buildTree(entries(), () => false));
        for (const changed of rounds) {
          for (const i of changed) salts[i] = (salts[i] as number) + 1;
          const known = () => false;
          const updated = tree.update(entries(), known);
          const built = buildTree(entries(), known);
          expect(updated.root).toBe(built.root);
          expect(updated.depth).toBe(built.depth);
          expect(new Set(updated.pages)).toEqual(new Set(built.pages));
          // Only pages over changed entries are new.
          expect(updated.newPages.size).toBeLessThanOrEqual(built.newPages.size);
        }
      }),
      { seed: 7, numRuns: 40 },
    );
  });

  it('with the real store, a version after 10 changed nodes of 2,000 writes only those chunks and the pages above them', async () => {
    const written: Blob[][] = [];
    const named: string[][] = [];
    const store = kit.store as OrchestratorStore;
    const counting: VersionStore = {
      putBlobs: (blobs) => {
        written.push([...blobs]);
        return store.putBlobs(blobs);
      },
      getBlobs: (hashes) => store.getBlobs(hashes),
      putVersion: (version) => {
        named.push([...version.blobHashes]);
        return store.putVersion(version);
      },
      listVersions: (sessionId) => store.listVersions(sessionId),
      getVersion: (sessionId, version) => store.getVersion(sessionId, version),
      deleteVersions: (sessionId, versions) => store.deleteVersions(sessionId, versions),
      deleteUnreferencedBlobs: () => store.deleteUnreferencedBlobs(),
    };
    const versions = new SessionVersions(kit.log, counting);
    const sessionId = kit.session();
    const state = emptySessionState(sessionId);
    const tracker = new ChangedChunks();
    const definition = { name: 'big', nodes: Array.from({ length: 2000 }, (_, i) => ({ id: `n${i}`, task: `t${i}` })) };
    let seq = 0;
    const apply = (type: string, data: Record<string, unknown>) => {
      const applied = { ...event(type, data, ++seq), sessionId };
      applyEvent(state, applied);
      tracker.note(applied, state);
    };
    apply('workflow.started', { workflowId: 'wf_1', name: 'big', definition });
    for (let i = 0; i < 2000; i++) apply('node.completed', { workflowId: 'wf_1', nodeId: `n${i}`, output: { i } });
    const chunker = new StateChunker();
    const first = await versions.take(state, { chunker, dirty: tracker.take() });
    const firstBlobs = written.flat().length;
    written.length = 0;

    const changed = Array.from({ length: 10 }, (_, k) => `n${k * 199}`);
    // Twice each: a node counts once in what the next cut is estimated to look at.
    for (const nodeId of changed) apply('node.started', { workflowId: 'wf_1', nodeId, attempt: 2 });
    for (const nodeId of changed) apply('node.started', { workflowId: 'wf_1', nodeId, attempt: 2 });
    expect(tracker.size(state)).toBe(10 + 2);
    // A chunker that has not cut yet cuts everything: the session, the workflow's header,
    // definition and added nodes, and its 2,000 nodes.
    expect(tracker.size(state, true)).toBe(1 + 3 + 2000);
    const dirty = tracker.take();
    expect(tracker.size(state)).toBe(0);
    // The workflow's header too: its status is refreshed after every event of it.
    expect([...dirty.paths].sort()).toEqual(['session', 'workflows/wf_1']);
    expect([...dirty.nodes]).toEqual([['wf_1', new Set(changed)]]);
    const second = await versions.take(state, { chunker, dirty });
    const blobs = written.flat();
    // The 10 nodes' buckets and the session chunk (the header did not change), then pages: at
    // most one per changed node and level. Each changed node is in a bucket of its own here
    // (199 apart, NODES_PER_CHUNK to a bucket).
    const buckets = blobs.filter((b) => b.links === undefined).map((b) => unpack(b.bytes));
    expect(buckets.filter((t) => t.includes('"attempts":2')).length).toBe(10);
    expect(blobs.length).toBeGreaterThanOrEqual(11);
    const { depth } = JSON.parse(Buffer.from(second.manifest).toString('utf8')) as { depth: number };
    expect(blobs.length).toBeLessThanOrEqual(11 + 10 * depth);
    // One blob per bucket of nodes, not per node.
    expect(firstBlobs).toBeGreaterThanOrEqual(2000 / NODES_PER_CHUNK);
    expect(firstBlobs).toBeLessThan(200);
    // 10 of the 32 buckets (and a few pages) are written again.
    expect(second.newBytes).toBeLessThan(first.newBytes / 2);
    // Both load back, verified, equal to the state at their point.
    expect((await versions.load(sessionId, second.version)).state).toEqual(state);
    const atFirst = (await versions.load(sessionId, first.version)).state;
    expect(atFirst.workflows.wf_1?.nodes.n0?.attempts).toBe(0);
    expect(atFirst.lastSeq).toBe(2001);
    // Each version names only its root page; the pages name the rest (their links).
    expect(named).toEqual([[first.checksum], [second.checksum]]);
    const pages = blobs.filter((b) => b.links !== undefined);
    expect(pages.length).toBeGreaterThanOrEqual(depth);
    expect(pages.every((b) => (b.links?.length ?? 0) > 0)).toBe(true);
    // Compaction keeps all the remaining version reaches, and drops what only the first had.
    expect(await versions.delete(sessionId, [first.version])).toBe(1);
    await versions.compact();
    expect((await versions.load(sessionId, second.version)).state).toEqual(state);
    expect((await store.getBlobs([first.checksum])).size).toBe(0);
    await versions.delete(sessionId, [second.version]);
    await versions.compact();
    expect((await store.getBlobs([second.checksum, ...blobs.map((b) => b.hash)])).size).toBe(0);
  });

  it('a compaction between storing the blobs and the version refuses the version; the next one stores everything again', async () => {
    const store = kit.store as OrchestratorStore;
    let compactFirst = false;
    const racing: VersionStore = {
      putBlobs: (blobs) => store.putBlobs(blobs),
      getBlobs: (hashes) => store.getBlobs(hashes),
      // Another process compacts after this one stored the blobs, before its version names them.
      putVersion: async (version) => {
        if (compactFirst) await store.deleteUnreferencedBlobs();
        return store.putVersion(version);
      },
      listVersions: (sessionId) => store.listVersions(sessionId),
      getVersion: (sessionId, version) => store.getVersion(sessionId, version),
      deleteVersions: (sessionId, versions) => store.deleteVersions(sessionId, versions),
      deleteUnreferencedBlobs: () => store.deleteUnreferencedBlobs(),
    };
    const versions = new SessionVersions(kit.log, racing);
    const sessionId = kit.session();
    const state = emptySessionState(sessionId);
    const tracker = new ChangedChunks();
    const definition = { name: 'race', nodes: Array.from({ length: 300 }, (_, i) => ({ id: `n${i}`, task: `t${i}` })) };
    let seq = 0;
    const apply = (type: string, data: Record<string, unknown>) => {
      const applied = { ...event(type, data, ++seq), sessionId };
      applyEvent(state, applied);
      tracker.note(applied, state);
    };
    apply('workflow.started', { workflowId: 'wf_1', name: 'race', definition });
    const chunker = new StateChunker();
    const first = await versions.take(state, { chunker, dirty: tracker.take() });
    for (let i = 0; i < 300; i += 7) apply('node.completed', { workflowId: 'wf_1', nodeId: `n${i}`, output: { i } });
    compactFirst = true;
    const error = await versions.take(state, { chunker, dirty: tracker.take() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', retryable: true });
    compactFirst = false;
    apply('node.completed', { workflowId: 'wf_1', nodeId: 'n1', output: { i: 1 } });
    const next = await versions.take(state, { chunker, dirty: tracker.take() });
    expect((await versions.load(sessionId, next.version)).state).toEqual(state);
    expect((await versions.load(sessionId, first.version)).state.lastSeq).toBe(1);
  });
});

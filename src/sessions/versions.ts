import { inflateRawSync } from 'node:zlib';
import fastJsonPatch from 'fast-json-patch';
import { OrchestratorError } from '../errors/index.ts';
import type { EventLog } from '../log/index.ts';
import type { VersionRecord, VersionStore } from '../store/index.ts';
import { applyEvent, emptySessionState, type SessionState } from '../workflow/index.ts';
import { changedFiles, commitWorkspace } from '../workspace/index.ts';
import {
  assembleState,
  blobsOf,
  chunkState,
  encodeManifest,
  migrateSnapshot,
  SNAPSHOT_SCHEMA_VERSION,
} from './snapshot.ts';

/** A readable account of what changed between two versions. */
export interface DiffSummary {
  readonly nodes: Array<{ workflowId: string; nodeId: string; from: string | null; to: string | null }>;
  readonly memory: { added: string[]; removed: string[]; changed: string[] };
  readonly messagesAdded: number;
  readonly costAddedUsd: number;
  readonly eventsAdded: number;
  /** Workspace files changed, when both versions recorded the workspace. */
  readonly files: string[] | null;
}

/** The difference between two versions: an RFC 6902 JSON Patch and a summary. */
export interface VersionDiff {
  readonly from: { version: number; seq: number };
  readonly to: { version: number | 'current'; seq: number };
  readonly patch: fastJsonPatch.Operation[];
  readonly summary: DiffSummary;
}

/**
 * Versions of sessions: snapshots of the projected state taken at a sequence number,
 * stored as content-addressed chunks and verified on every load. A version plus the events
 * after it equals a full replay; a version that fails verification is reported and the state
 * is rebuilt from the log instead.
 */
export class SessionVersions {
  readonly #log: EventLog;
  readonly #store: VersionStore;

  constructor(log: EventLog, store: VersionStore) {
    this.#log = log;
    this.#store = store;
  }

  /**
   * Stores the state as a new version. `state` must be the projection of exactly the events
   * up to `state.lastSeq` (committed ones only).
   */
  async take(state: SessionState, options: { label?: string; workspace?: string } = {}): Promise<VersionRecord> {
    const snapshot = chunkState(state);
    const newBytes = await this.#store.putBlobs(blobsOf(snapshot));
    const workspaceCommit = options.workspace
      ? await commitWorkspace(options.workspace, `version of ${state.sessionId} at seq ${state.lastSeq}`).catch(
          () => null,
        )
      : null;
    return this.#store.putVersion({
      sessionId: state.sessionId,
      seq: state.lastSeq,
      label: options.label ?? null,
      createdAt: new Date().toISOString(),
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      checksum: snapshot.checksum,
      manifest: encodeManifest(snapshot.manifest),
      workspaceCommit,
      newBytes,
      blobHashes: [...snapshot.blobs.keys()],
    });
  }

  /** Versions of a session, oldest first. */
  list(sessionId: string): Promise<VersionRecord[]> {
    return this.#store.listVersions(sessionId);
  }

  /**
   * One version's state, verified.
   * @throws OrchestratorError `VERSION_NOT_FOUND`, `SNAPSHOT_CORRUPT`, `SNAPSHOT_UNSUPPORTED`
   */
  async load(sessionId: string, version: number): Promise<{ record: VersionRecord; state: SessionState }> {
    const record = await this.#store.getVersion(sessionId, version);
    if (!record) {
      throw new OrchestratorError('VERSION_NOT_FOUND', `session ${sessionId} has no version ${version}`, {
        details: { sessionId, version },
      });
    }
    migrateSnapshot(record.schemaVersion, { sessionId, version });
    const hashes = manifestHashes(record);
    const blobs = await this.#store.getBlobs(hashes);
    return { record, state: assembleState({ sessionId, version }, record.manifest, blobs, record.checksum) };
  }

  /**
   * The session's state at its latest event, from its newest readable version plus the events
   * after it (or a full replay when it has no readable version). `onCorrupt` hears about a
   * version that failed verification and was skipped.
   */
  async current(sessionId: string, onCorrupt?: (error: OrchestratorError) => void): Promise<SessionState> {
    const versions = await this.#store.listVersions(sessionId);
    for (const record of versions.reverse()) {
      try {
        const { state } = await this.load(sessionId, record.version);
        return await this.#advance(state, Number.POSITIVE_INFINITY);
      } catch (error) {
        if (!(error instanceof OrchestratorError) || !['SNAPSHOT_CORRUPT', 'SNAPSHOT_UNSUPPORTED'].includes(error.code))
          throw error;
        onCorrupt?.(error);
      }
    }
    return this.#advance(emptySessionState(sessionId), Number.POSITIVE_INFINITY);
  }

  /**
   * Compares two versions (or a version and the present).
   * @throws OrchestratorError `VERSION_NOT_FOUND`
   */
  async diff(sessionId: string, from: number, to?: number): Promise<VersionDiff> {
    const a = await this.load(sessionId, from);
    const b = to === undefined ? undefined : await this.load(sessionId, to);
    const bState = b ? b.state : await this.#advance(structuredClone(a.state), Number.POSITIVE_INFINITY);
    const patch = fastJsonPatch.compare(a.state, bState);
    let messagesAdded = 0;
    let eventsAdded = 0;
    for await (const event of this.#log.readAll(sessionId, a.record.seq + 1)) {
      if (event.seq > bState.lastSeq) break;
      eventsAdded++;
      if (event.type === 'agent.message') messagesAdded++;
    }
    let files: string[] | null = null;
    const workspace = bState.workspace ?? a.state.workspace;
    if (workspace && a.record.workspaceCommit && b?.record.workspaceCommit) {
      files = await changedFiles(workspace, a.record.workspaceCommit, b.record.workspaceCommit).catch(() => null);
    }
    return {
      from: { version: from, seq: a.record.seq },
      to: { version: to ?? 'current', seq: bState.lastSeq },
      patch,
      summary: summarize(a.state, bState, { messagesAdded, eventsAdded, files }),
    };
  }

  /** Applies the log's events after `state.lastSeq`, up to `untilSeq`. */
  async #advance(state: SessionState, untilSeq: number): Promise<SessionState> {
    for await (const event of this.#log.readAll(state.sessionId, state.lastSeq + 1)) {
      if (event.seq > untilSeq) break;
      applyEvent(state, event);
    }
    return state;
  }

  /** The state at exactly `seq`: the newest version at or before it, plus events up to it. */
  async stateAtSeq(sessionId: string, seq: number): Promise<SessionState> {
    const versions = (await this.#store.listVersions(sessionId)).filter((v) => v.seq <= seq);
    const base = versions.at(-1);
    const state = base ? (await this.load(sessionId, base.version)).state : emptySessionState(sessionId);
    return this.#advance(state, seq);
  }

  /** Deletes versions; `compact` also removes blobs no version refers to any more. */
  async delete(sessionId: string, versions: readonly number[]): Promise<number> {
    return this.#store.deleteVersions(sessionId, versions);
  }

  /** Removes blobs that no version refers to; returns how many. */
  compact(): Promise<number> {
    return this.#store.deleteUnreferencedBlobs();
  }
}

function manifestHashes(record: VersionRecord): string[] {
  // The manifest is small; decoding it twice (here and in assembleState) keeps assembleState
  // a pure function of stored bytes.
  try {
    const manifest = JSON.parse(inflateRawSync(record.manifest).toString('utf8')) as Array<[string, string]>;
    return [...new Set(manifest.map(([, hash]) => hash))];
  } catch {
    throw new OrchestratorError(
      'SNAPSHOT_CORRUPT',
      `version ${record.version} of session ${record.sessionId} is unreadable: its manifest cannot be decoded`,
      {
        details: { sessionId: record.sessionId, version: record.version },
      },
    );
  }
}

function summarize(
  a: SessionState,
  b: SessionState,
  extra: { messagesAdded: number; eventsAdded: number; files: string[] | null },
): DiffSummary {
  const nodes: DiffSummary['nodes'] = [];
  for (const workflowId of new Set([...Object.keys(a.workflows), ...Object.keys(b.workflows)])) {
    const before = a.workflows[workflowId]?.nodes ?? {};
    const after = b.workflows[workflowId]?.nodes ?? {};
    for (const nodeId of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const from = before[nodeId]?.status ?? null;
      const to = after[nodeId]?.status ?? null;
      if (from !== to) nodes.push({ workflowId, nodeId, from, to });
    }
  }
  const keysA = Object.keys(a.memory);
  const keysB = Object.keys(b.memory);
  const cost = (s: SessionState) => Object.values(s.agents).reduce((sum, agent) => sum + agent.costUsd, 0);
  return {
    nodes,
    memory: {
      added: keysB.filter((k) => !(k in a.memory)),
      removed: keysA.filter((k) => !(k in b.memory)),
      changed: keysB.filter((k) => k in a.memory && JSON.stringify(a.memory[k]) !== JSON.stringify(b.memory[k])),
    },
    messagesAdded: extra.messagesAdded,
    costAddedUsd: cost(b) - cost(a),
    eventsAdded: extra.eventsAdded,
    files: extra.files,
  };
}

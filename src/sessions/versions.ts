import { createRequire } from 'node:module';
import type fastJsonPatch from 'fast-json-patch';
import { OrchestratorError } from '../errors/index.ts';
import type { EventLog } from '../log/index.ts';
import { applyMetricsEvent, emptyMetrics } from '../monitor/index.ts';
import type { VersionRecord, VersionStore } from '../store/index.ts';
import { applyEvent, emptySessionState, type SessionState } from '../workflow/index.ts';
import { EMPTY_TREE, type FileChanges, type FileDiffLimits, type WorkspaceHistory } from '../workspace/index.ts';
import type { DirtyChunks } from './changed-chunks.ts';
import { StateChunker } from './chunks.ts';
import { readSnapshot, SNAPSHOT_SCHEMA_VERSION, writeSnapshot } from './snapshot.ts';
import { type DiffSummary, summarizeDiff } from './summary.ts';

/** The difference between two versions: an RFC 6902 JSON Patch and a summary. */
export interface VersionDiff {
  readonly sessionId: string;
  readonly from: { version: number; seq: number };
  readonly to: { version: number | 'current'; seq: number };
  readonly patch: fastJsonPatch.Operation[];
  readonly summary: DiffSummary;
}

/** Options of {@link SessionVersions.take}. */
export interface TakeVersionOptions {
  /** A name for the version, shown in listings. @default none */
  readonly label?: string | undefined;
  /** Cuts incrementally against this session's previous versions (see {@link StateChunker}). */
  readonly chunker?: StateChunker | undefined;
  /** The chunks changed since the chunker's previous cut (only those are looked at); needs `chunker`. */
  readonly dirty?: DirtyChunks | undefined;
}

/**
 * Versions of sessions: snapshots of the projected state taken at a sequence number, stored as
 * content-addressed chunks under a Merkle tree of pages and verified on every load. A version
 * plus the events after it equals a full replay; a version that fails verification is reported
 * and the state is rebuilt from the log instead. With a {@link WorkspaceHistory}, a version also
 * records the session workspace's files.
 */
export class SessionVersions {
  readonly #log: EventLog;
  readonly #store: VersionStore;
  readonly #workspaces: WorkspaceHistory | undefined;
  /** Page and chunk hashes known to be stored (by this process), so they are not sent again. */
  readonly #stored = new Set<string>();

  constructor(log: EventLog, store: VersionStore, workspaces?: WorkspaceHistory) {
    this.#log = log;
    this.#store = store;
    this.#workspaces = workspaces;
  }

  /**
   * Stores the state as a new version. `state` must be the projection of exactly the events
   * up to `state.lastSeq` (committed ones only).
   */
  async take(state: SessionState, options: TakeVersionOptions = {}): Promise<VersionRecord> {
    // Everything is read from the state before the first await: a caller may go on applying
    // events to it meanwhile, and the version must be the state at exactly `seq`.
    const { sessionId, lastSeq: seq, workspace } = state;
    const chunker = options.chunker ?? new StateChunker();
    const snapshot = writeSnapshot(state, chunker, (hash) => this.#stored.has(hash), options.dirty);
    // A page goes with the blobs it names, so the version names only its root: storing it
    // costs in proportion to what changed, not to the size of the state.
    const blobs = [...snapshot.newBlobs].map(([hash, bytes]) => {
      const links = snapshot.links.get(hash);
      return links ? { hash, bytes, links } : { hash, bytes };
    });
    try {
      // The workspace's files are recorded while the blobs are written: neither needs the other.
      const [newBytes, workspaceCommit] = await Promise.all([
        this.#store.putBlobs(blobs).then((bytes) => {
          chunker.markStored(snapshot.newBlobs.keys());
          for (const hash of snapshot.newBlobs.keys()) this.#stored.add(hash);
          return bytes;
        }),
        this.#workspaces && workspace ? this.#workspaces.recordVersion(sessionId, workspace, `seq ${seq}`) : null,
      ]);
      return await this.#store.putVersion({
        sessionId,
        seq,
        label: options.label ?? null,
        createdAt: new Date().toISOString(),
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        checksum: snapshot.checksum,
        manifest: snapshot.manifest,
        workspaceCommit,
        newBytes,
        blobHashes: snapshot.roots,
      });
    } catch (error) {
      // Blobs believed stored are not (a compaction removed them after they were written, before
      // a version named them, so a new page or the version names a missing blob): forget what is
      // believed, so the next version writes everything.
      if (error instanceof OrchestratorError && error.code === 'INVALID_ARGUMENT' && error.retryable) {
        chunker.reset();
        this.#stored.clear();
      }
      throw error;
    }
  }

  /**
   * Records the session workspace's files now (creating its history repository when it has
   * none), without a version: the follower does it as a run starts, so its first version, which
   * waits for the recordings before it, does not pay for creating the repository and its first
   * commit. Resolves to the commit, or null without a workspace or history.
   */
  recordWorkspace(state: SessionState): Promise<string | null> {
    const { sessionId, workspace, lastSeq } = state;
    if (!this.#workspaces || !workspace) return Promise.resolve(null);
    return this.#workspaces.recordVersion(sessionId, workspace, `seq ${lastSeq}`);
  }

  /**
   * Cuts the chunks `dirty` names, without a version: the next version taken with the same
   * chunker finds them cut and cuts only what changed since. The follower does this while a
   * version waits, so the work of a long run is spread over it instead of falling on its last
   * version. The cut is synchronous; with `write`, the blobs are also stored (the promise
   * settles then), else they stay pending in the chunker for the next version.
   */
  async prepare(state: SessionState, options: { chunker: StateChunker; dirty: DirtyChunks; write?: boolean }) {
    const newBlobs = options.chunker.prepare(state, options.dirty, options.write === true);
    if (!options.write || newBlobs.size === 0) return;
    await this.#store.putBlobs([...newBlobs].map(([hash, bytes]) => ({ hash, bytes })));
    options.chunker.markStored(newBlobs.keys());
    for (const hash of newBlobs.keys()) this.#stored.add(hash);
  }

  /** Versions of a session, oldest first. */
  list(sessionId: string): Promise<VersionRecord[]> {
    return this.#store.listVersions(sessionId);
  }

  /**
   * One version's record, or `VERSION_NOT_FOUND`.
   * @throws OrchestratorError `VERSION_NOT_FOUND`
   */
  async record(sessionId: string, version: number): Promise<VersionRecord> {
    const record = await this.#store.getVersion(sessionId, version);
    if (!record) {
      const known = await this.#store.listVersions(sessionId);
      const range =
        known.length === 0 ? 'it has no versions' : `it has versions ${known[0]?.version}..${known.at(-1)?.version}`;
      throw new OrchestratorError('VERSION_NOT_FOUND', `session ${sessionId} has no version ${version} (${range})`, {
        details: { sessionId, version },
      });
    }
    return record;
  }

  /**
   * One version's state, verified.
   * @throws OrchestratorError `VERSION_NOT_FOUND`, `SNAPSHOT_CORRUPT`, `SNAPSHOT_UNSUPPORTED`
   */
  async load(sessionId: string, version: number): Promise<{ record: VersionRecord; state: SessionState }> {
    const record = await this.record(sessionId, version);
    const state = await readSnapshot({ sessionId, version }, record, (hashes) => this.#store.getBlobs(hashes));
    return { record, state };
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
    // Loaded by the first diff, not by importing the library (issue 15); CommonJS, so `require`
    // gives the instance an `import` would.
    const { compare } = createRequire(import.meta.url)('fast-json-patch') as typeof fastJsonPatch;
    const patch = compare(a.state, bState);
    let messagesAdded = 0;
    let eventsAdded = 0;
    const [low, high] =
      a.record.seq <= bState.lastSeq ? [a.record.seq, bState.lastSeq] : [bState.lastSeq, a.record.seq];
    // Cost as `sessions show` figures it, at both ends: the monitor's projection from the start
    // (a snapshot holds the workflow state, not the figures).
    const metrics = emptyMetrics(sessionId);
    const costAt = () => ({ costUsd: metrics.session.costUsd, sdkCostUsd: metrics.session.sdkCostUsd });
    let atLow = costAt();
    for await (const event of this.#log.readAll(sessionId)) {
      if (event.seq > high) break;
      applyMetricsEvent(metrics, event);
      if (event.seq <= low) {
        atLow = costAt();
        continue;
      }
      eventsAdded++;
      if (event.type === 'agent.message') messagesAdded++;
    }
    const atHigh = costAt();
    const cost = a.record.seq <= bState.lastSeq ? { a: atLow, b: atHigh } : { a: atHigh, b: atLow };
    let files: string[] | null = null;
    const workspace = bState.workspace ?? a.state.workspace;
    if (this.#workspaces && workspace) {
      const target = b ? b.record.workspaceCommit : await this.#workspaces.recordVersion(sessionId, workspace, 'diff');
      // A version that names no commit held an empty folder.
      if (a.record.workspaceCommit || target) {
        files = await this.#workspaces.changedFiles(
          sessionId,
          a.record.workspaceCommit ?? EMPTY_TREE,
          target ?? EMPTY_TREE,
        );
      }
    }
    return {
      sessionId,
      from: { version: from, seq: a.record.seq },
      to: { version: to ?? 'current', seq: bState.lastSeq },
      patch,
      summary: summarizeDiff(a.state, bState, { messagesAdded, eventsAdded, files, cost }),
    };
  }

  /**
   * The workspace files that changed between a version and another (or the present), with
   * their diffs within `limits`; null when neither end recorded files (no workspace history, or
   * an empty folder never recorded). A version that names no commit held an empty folder.
   * @throws OrchestratorError `VERSION_NOT_FOUND`
   */
  async diffFiles(sessionId: string, from: number, to?: number, limits?: FileDiffLimits): Promise<FileChanges | null> {
    const a = await this.record(sessionId, from);
    const b = to === undefined ? undefined : await this.record(sessionId, to);
    if (!this.#workspaces) return null;
    let target = b?.workspaceCommit ?? null;
    if (b === undefined) {
      // The present: its files are recorded now, as `diff` does.
      const workspace = (await this.current(sessionId)).workspace;
      target = workspace ? await this.#workspaces.recordVersion(sessionId, workspace, 'diff') : null;
    }
    // A version that names no commit held an empty folder (see WorkspaceHistory.recordVersion).
    if (!a.workspaceCommit && !target) return null;
    return this.#workspaces.diffFiles(sessionId, a.workspaceCommit ?? EMPTY_TREE, target ?? EMPTY_TREE, limits);
  }

  /** The state at exactly `seq`: the newest readable version at or before it, plus events up to it. */
  async stateAtSeq(sessionId: string, seq: number): Promise<SessionState> {
    const versions = (await this.#store.listVersions(sessionId)).filter((v) => v.seq <= seq);
    for (const record of versions.reverse()) {
      try {
        return await this.#advance((await this.load(sessionId, record.version)).state, seq);
      } catch (error) {
        if (!(error instanceof OrchestratorError) || error.code !== 'SNAPSHOT_CORRUPT') throw error;
      }
    }
    return this.#advance(emptySessionState(sessionId), seq);
  }

  /** Deletes versions of a session; returns how many were deleted. Their blobs go at {@link compact}. */
  delete(sessionId: string, versions: readonly number[]): Promise<number> {
    return this.#store.deleteVersions(sessionId, versions);
  }

  /**
   * Removes blobs no remaining version refers to; returns how many. A version being written by
   * another process at that moment may lose blobs: it then fails verification and the session
   * is rebuilt from its log (nothing is lost).
   */
  compact(): Promise<number> {
    return this.#store.deleteUnreferencedBlobs();
  }

  /** Applies the log's events after `state.lastSeq`, up to `untilSeq`. */
  async #advance(state: SessionState, untilSeq: number): Promise<SessionState> {
    for await (const event of this.#log.readAll(state.sessionId, state.lastSeq + 1)) {
      if (event.seq > untilSeq) break;
      applyEvent(state, event);
    }
    return state;
  }
}

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { type AnyEvent, newPrefixedId } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { checkSafeName, childPath } from '../security/index.ts';
import type { PayloadStore, TranscriptEntry, TranscriptStore, VersionRecord, VersionStore } from '../store/index.ts';
import { replay, type SessionState } from '../workflow/index.ts';
import { type FileChanges, type FileDiffLimits, WorkspaceHistory, WorkspaceManager } from '../workspace/index.ts';
import { readPayload, type StoredPayload } from './payloads.ts';
import { type PruneResult, prune } from './prune.ts';
import { compilePruneOptions, type PruneOptions } from './prune-plan.ts';
import { conversationsOf, copyConversations } from './transcript-copy.ts';
import { forkLog } from './transfer.ts';
import { type ExportResult, exportSession, findTranscripts } from './transfer-export.ts';
import type { ImportResult } from './transfer-format.ts';
import { type ImportOptions, importSession } from './transfer-import.ts';
import { SessionVersions, type VersionDiff } from './versions.ts';

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions {
  readonly log: EventLog;
  readonly versionStore: VersionStore;
  /** The data directory: forked workspaces and workspace history live under it. */
  readonly dataDir: string;
  /** Where agents' transcripts are kept, for prune to delete a pruned session's. @default none: prune leaves them */
  readonly transcriptStore?: TranscriptStore | undefined;
  /** Claude Code's config folder (local copies of transcripts). @default `<dataDir>/claude`, where the orchestrator points it */
  readonly claudeConfigDir?: string | undefined;
  /** Run before git work on a session's files; throws when this process no longer owns it. @default none */
  readonly confirmOwner?: ((sessionId: string) => Promise<void>) | undefined;
  /** The full values of shortened event fields (the store's `payloads`). @default none: nothing to read, export or import */
  readonly payloadStore?: PayloadStore | undefined;
}

/** Where a fork starts: a version, or a sequence number of the log. */
export type ForkPoint = { readonly version: number } | { readonly seq: number } | { readonly latest: true };

/** An agent's SDK transcript: its conversation and its subagents', as Claude Code wrote them. */
export interface AgentTranscript {
  readonly agentId: string;
  readonly sdkSessionId: string;
  readonly entries: TranscriptEntry[];
  readonly subagents: ReadonlyArray<{ readonly subpath: string; readonly entries: TranscriptEntry[] }>;
}

/** A session made by {@link SessionManager.fork}. */
export interface ForkedSession {
  readonly sessionId: string;
  readonly fromSessionId: string;
  readonly fromSeq: number;
  readonly fromVersion: number | undefined;
  readonly workspace: string;
  /** True when the workspace holds the files recorded with the version; false when none were. */
  readonly filesRestored: boolean;
}

/**
 * Everything done to stored sessions besides running them: versions (take, list, load, diff),
 * forks, export and import. The orchestrator uses it for resume and fork; the CLI's `sessions`
 * verbs use it without starting any model.
 */
export class SessionManager {
  readonly log: EventLog;
  readonly versions: SessionVersions;
  readonly history: WorkspaceHistory;
  readonly #dataDir: string;
  readonly #versionStore: VersionStore;
  readonly #transcripts: TranscriptStore | undefined;
  readonly #claudeConfigDir: string;
  readonly #payloads: PayloadStore | undefined;

  constructor(options: SessionManagerOptions) {
    this.log = options.log;
    this.#dataDir = options.dataDir;
    this.#versionStore = options.versionStore;
    this.#transcripts = options.transcriptStore;
    this.#payloads = options.payloadStore;
    this.#claudeConfigDir = options.claudeConfigDir ?? path.join(options.dataDir, 'claude');
    // The data directory is never a workspace's to record, even when a workspace holds it.
    this.history = new WorkspaceHistory(path.join(options.dataDir, 'history'), options.confirmOwner, {
      neverRecorded: options.dataDir,
    });
    this.versions = new SessionVersions(options.log, options.versionStore, this.history);
  }

  /**
   * The session's state now: its newest readable version plus the events after it.
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  async state(sessionId: string, onCorrupt?: (error: OrchestratorError) => void): Promise<SessionState> {
    await this.#assertExists(sessionId);
    return this.versions.current(sessionId, onCorrupt);
  }

  /**
   * Takes a version of the session as it stands in the log, with an optional label, and
   * records it as a `session.versioned` event (naming `by`, who asked, when given).
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  async takeVersion(
    sessionId: string,
    label?: string,
    options: { by?: string | undefined } = {},
  ): Promise<VersionRecord> {
    const state = await this.state(sessionId);
    const record = await this.versions.take(state, { label });
    const by = options.by === undefined ? {} : { by: options.by };
    await this.log.append(sessionId, [
      { type: 'session.versioned', data: { version: record.version, seq: record.seq, label: record.label, ...by } },
    ]);
    return record;
  }

  /**
   * Compares two versions, or a version and the present.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `VERSION_NOT_FOUND`
   */
  async diff(sessionId: string, from: number, to?: number): Promise<VersionDiff> {
    await this.#assertExists(sessionId);
    return this.versions.diff(sessionId, from, to);
  }

  /**
   * The workspace files that changed between two versions (or a version and now), with their
   * diffs within `limits`; null when the versions recorded no files.
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `VERSION_NOT_FOUND`
   */
  async diffFiles(sessionId: string, from: number, to?: number, limits?: FileDiffLimits): Promise<FileChanges | null> {
    await this.#assertExists(sessionId);
    return this.versions.diffFiles(sessionId, from, to, limits);
  }

  /**
   * A new session whose log is a copy of this one's up to a version (or sequence number),
   * with its own workspace holding the files recorded with that version. The original
   * session is left exactly as it was.
   * @throws OrchestratorError `INVALID_ARGUMENT` (`as` not a safe name), `SESSION_NOT_FOUND`, `VERSION_NOT_FOUND`, `SESSION_EXISTS`
   */
  async fork(
    sessionId: string,
    point: ForkPoint,
    options: { as?: string | undefined; by?: string | undefined } = {},
  ): Promise<ForkedSession> {
    if (options.as !== undefined) checkSafeName(options.as, 'as');
    const lastSeq = await this.#assertExists(sessionId);
    let record: VersionRecord | undefined;
    let seq: number;
    if ('version' in point) {
      record = await this.versions.record(sessionId, point.version);
      seq = record.seq;
    } else if ('seq' in point) {
      if (!Number.isInteger(point.seq) || point.seq < 1 || point.seq > lastSeq) {
        throw new OrchestratorError(
          'INVALID_ARGUMENT',
          `session ${sessionId} has events 1..${lastSeq}, not ${point.seq}`,
        );
      }
      seq = point.seq;
    } else {
      record = (await this.versions.list(sessionId)).at(-1);
      seq = lastSeq;
    }
    const target = options.as;
    if (target !== undefined && (await this.log.lastSeq(target)) > 0) {
      throw new OrchestratorError('SESSION_EXISTS', `session "${target}" already exists; nothing was written`);
    }
    const newId = target ?? newPrefixedId('ses');
    const workspace = childPath(path.join(this.#dataDir, 'workspaces'), [newId], ['sessionId']);
    let filesRestored = false;
    if (record?.workspaceCommit) {
      await this.history.restore(sessionId, record.workspaceCommit, workspace, newId);
      filesRestored = true;
    } else {
      await mkdir(workspace, { recursive: true });
    }
    const fromVersion = 'version' in point ? point.version : undefined;
    await forkLog(this.log, { sessionId, seq, version: fromVersion }, { as: newId, workspace, by: options.by });
    await this.#copyConversations(sessionId, seq, workspace);
    return { sessionId: newId, fromSessionId: sessionId, fromSeq: seq, fromVersion, workspace, filesRestored };
  }

  /**
   * Gives a fork its own copy of the conversations of the session workspace's agents, keyed by
   * its own folder (Claude Code finds a conversation only from the folder it ran in). The fork
   * branches them on resume; the original's transcripts are never written by it.
   */
  async #copyConversations(sessionId: string, seq: number, workspace: string): Promise<void> {
    if (!this.#transcripts) return;
    const events: AnyEvent[] = [];
    for await (const event of this.log.readAll(sessionId)) {
      if (event.seq > seq) break;
      events.push(event);
    }
    const original = replay(sessionId, events).workspace;
    if (original === undefined) return;
    await copyConversations(this.#transcripts, conversationsOf(events), original, workspace);
  }

  /**
   * Writes everything the session needs to carry on elsewhere into one file: its log, its
   * versions with their blobs, its agents' transcripts (when this manager has the transcript
   * store) and its workspace history, in which the workspace's current files are recorded
   * first. See `transfer-format.ts` for the format.
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  export(sessionId: string, file: string): Promise<ExportResult> {
    return exportSession(
      {
        log: this.log,
        versions: this.#versionStore,
        transcripts: this.#transcripts,
        payloads: this.#payloads,
        history: this.history,
        state: (id) => this.state(id),
        dataDir: this.#dataDir,
      },
      sessionId,
      file,
    );
  }

  /**
   * Reads an export into this store and data directory as a new session, checked in full
   * before anything is written and undone if writing fails: the log, then the versions, the
   * workspace history, the files as they were at the export in the session's workspace here
   * (`<dataDir>/workspaces/<id>`, or the custom folder it had), the transcripts re-keyed to
   * that folder, and a `session.imported` event naming the origin, the file and what the
   * operator trusted. A workspace outside the data directory (and `workspaceRoots`) and MCP
   * servers started by command (unless `trustMcp`) are refused.
   * @throws OrchestratorError `IMPORT_INVALID`, `IMPORT_REFUSED`, `INVALID_ARGUMENT`, `SESSION_EXISTS`
   */
  import(file: string, options: ImportOptions = {}): Promise<ImportResult> {
    return importSession(
      {
        log: this.log,
        versions: this.#versionStore,
        transcripts: this.#transcripts,
        payloads: this.#payloads,
        history: this.history,
        dataDir: this.#dataDir,
      },
      file,
      options,
    );
  }

  /**
   * The SDK transcript of one agent of a session (the conversation it had, and its subagents'),
   * from the transcript store, wherever it worked (the session workspace or a node's worktree).
   * Undefined when there is none: an unknown agent, one stopped before its first turn, or a
   * manager without the transcript store. An agent that carried on another's conversation
   * shares its transcript.
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  async agentTranscript(sessionId: string, agentId: string): Promise<AgentTranscript | undefined> {
    const state = await this.state(sessionId);
    const agent = state.agents[agentId];
    const store = this.#transcripts;
    if (!agent?.sdkSessionId || !store) return undefined;
    const found = await findTranscripts(
      { transcripts: store, dataDir: this.#dataDir },
      { ...state, agents: { [agentId]: agent } },
    );
    const main = found.find((t) => t.sdkSessionId === agent.sdkSessionId && t.subpath === undefined);
    if (!main) return undefined;
    const key = { projectKey: main.projectKey, sessionId: main.sdkSessionId };
    const subagents = [];
    for (const sub of found.filter((t) => t.sdkSessionId === agent.sdkSessionId && t.subpath !== undefined)) {
      const subpath = sub.subpath as string;
      subagents.push({ subpath, entries: (await store.loadTranscript({ ...key, subpath })) ?? [] });
    }
    return { agentId, sdkSessionId: main.sdkSessionId, entries: (await store.loadTranscript(key)) ?? [], subagents };
  }

  /**
   * The full value of a field the log shortened (an event's `truncated` entry with
   * `stored: true`), by its SHA-256, verified against it. Only the session's own payloads are
   * readable through it, whatever other sessions stored.
   * @example
   * const { text } = await manager.payload(sessionId, event.data.truncated[0].sha256);
   * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT`, `PAYLOAD_NOT_FOUND`, `PAYLOAD_CORRUPT`
   */
  async payload(sessionId: string, sha256: string): Promise<StoredPayload> {
    await this.#assertExists(sessionId);
    return readPayload(this.#payloads, sessionId, sha256);
  }

  /**
   * Retention: deletes whole sessions by age and status, trims the versions of the others to
   * the newest `keepVersions`, and compacts blobs no version refers to any more. A deleted
   * session takes along its versions, its payload blobs (its references go with its log; the
   * blobs no session references go with the compaction), its agents' transcripts (unless a
   * remaining session, a fork, uses them), its workspace history and worktrees, and its workspace folder when that
   * is the data directory's (a user's `--workspace` folder stays). With `dryRun` it only plans.
   * @example
   * const { totals } = await manager.prune({ olderThan: '30d', keepVersions: 5 });
   * @throws OrchestratorError `INVALID_ARGUMENT` for bad options or options that prune nothing.
   */
  async prune(options: PruneOptions): Promise<PruneResult> {
    const compiled = compilePruneOptions(options);
    const worktreesRoot = path.join(this.#dataDir, 'worktrees');
    return prune(
      {
        events: this.log.store,
        versions: this.#versionStore,
        transcripts: this.#transcripts,
        state: (sessionId) => this.versions.current(sessionId),
        history: this.history,
        worktrees: new WorkspaceManager(worktreesRoot, this.history),
        claudeConfigDir: this.#claudeConfigDir,
        dataDir: this.#dataDir,
        worktreesRoot,
      },
      compiled,
      Date.now(),
    );
  }

  async #assertExists(sessionId: string): Promise<number> {
    const lastSeq = await this.log.lastSeq(sessionId);
    if (lastSeq === 0) throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
    return lastSeq;
  }
}

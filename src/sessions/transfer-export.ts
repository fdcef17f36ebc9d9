import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import type { EventLog } from '../log/index.ts';
import type { PayloadStore, TranscriptStore, VersionRecord, VersionStore } from '../store/index.ts';
import type { SessionState } from '../workflow/index.ts';
import { projectKeyOf, type WorkspaceHistory } from '../workspace/index.ts';
import { snapshotBlobHashes } from './snapshot.ts';
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportedVersion,
  type ExportHeader,
  type ExportRecord,
  HISTORY_PART_BYTES,
  lineWriter,
  type TranscriptPlace,
  WORKTREE_LABEL,
} from './transfer-format.ts';
import { exportablePayloads, payloadRecords } from './transfer-payloads.ts';

/** What an export reads: narrow views of the stores, the session's state and its history. */
export interface ExportSource {
  readonly log: EventLog;
  readonly versions: Pick<VersionStore, 'listVersions' | 'getBlobs'>;
  /** Without it, no transcript is exported. */
  readonly transcripts:
    | Pick<TranscriptStore, 'listTranscriptSessions' | 'listTranscriptSubkeys' | 'loadTranscript'>
    | undefined;
  readonly history: Pick<WorkspaceHistory, 'bundle' | 'record'>;
  /** Without it, no payload blob is exported (the transcripts still hold the values). */
  readonly payloads?: Pick<PayloadStore, 'listPayloads' | 'getPayload'> | undefined;
  /** The session's state now. @throws OrchestratorError `SESSION_NOT_FOUND` */
  state(sessionId: string): Promise<SessionState>;
  /** The data directory: the session's own workspace and worktrees are under it. */
  readonly dataDir: string;
}

/** What {@link exportSession} wrote. */
export interface ExportResult {
  readonly sessionId: string;
  readonly file: string;
  readonly events: number;
  readonly versions: number;
  /** Versions left out because they failed verification (the log rebuilds them). */
  readonly skippedVersions: readonly number[];
  readonly blobs: number;
  /** Payload blobs: full values of event fields the log shortened. */
  readonly payloads: number;
  /** Payload blobs left out because their bytes no longer match their hash. */
  readonly skippedPayloads: readonly string[];
  /** Transcripts (main and subagent ones) of the session's agents. */
  readonly transcripts: number;
  /** Bytes of the workspace history bundle (0 without one). */
  readonly historyBytes: number;
  /** Size of the file written. */
  readonly bytes: number;
}

/** One transcript to export: its key where it is kept, and where that is relative to the session. */
interface FoundTranscript {
  readonly projectKey: string;
  readonly sdkSessionId: string;
  readonly subpath: string | undefined;
  readonly place: TranscriptPlace;
  readonly cwd: string;
}

/** Blobs are read from the store this many at a time. */
const BLOB_BATCH = 500;

/**
 * Writes everything a session needs to carry on elsewhere into one file (format 3, see
 * transfer-format.ts): its log, its verified versions with their blobs, the payload blobs of
 * its shortened event fields (those that verify), its agents' SDK
 * transcripts and its workspace history, in which the workspace's files as they are now are
 * recorded first (the history's head: what an import puts in the new workspace). The file is written beside `file` and renamed into
 * place when complete, so a failed export leaves no partial file. Events appended while it
 * runs are not included; versions that fail verification are left out and named in the result.
 * @throws OrchestratorError `SESSION_NOT_FOUND`
 */
export async function exportSession(source: ExportSource, sessionId: string, file: string): Promise<ExportResult> {
  const state = await source.state(sessionId);
  const events = state.lastSeq;
  if (events === 0) throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
  const scratch = await mkdtemp(path.join(tmpdir(), 'orch-export-'));
  const partial = `${file}.${randomBytes(4).toString('hex')}.partial`;
  try {
    const { versions, skipped, blobHashes } = await exportedVersions(source, sessionId, events);
    const transcripts = await findTranscripts(source, state);
    const payloads = await exportablePayloads(source.payloads, sessionId);
    const bundleFile = path.join(scratch, 'history.bundle');
    // The files as they are now go into the history first: versions may be older than the
    // log's end (none is taken on a suspend or a crash), and the agents' conversations speak
    // of the files as they left them.
    if (state.workspace && (await isFolder(state.workspace)))
      await source.history.record(sessionId, state.workspace, `export at seq ${events}`);
    const bundled = await source.history.bundle(sessionId, bundleFile);
    const history = bundled ? { head: bundled.head, ...(await digest(bundleFile)) } : null;
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      formatVersion: EXPORT_FORMAT_VERSION,
      sessionId,
      exportedAt: new Date().toISOString(),
      source: { store: source.log.store.kind },
      workspace: state.workspace
        ? {
            path: state.workspace,
            inDataDir: path.resolve(state.workspace) === path.resolve(source.dataDir, 'workspaces', sessionId),
          }
        : null,
      counts: {
        events,
        versions: versions.length,
        blobs: blobHashes.length,
        payloads: payloads.hashes.length,
        transcripts: transcripts.length,
        historyBytes: history?.bytes ?? 0,
      },
      history: history && { head: history.head, sha256: history.sha256 },
    };
    const out = createWriteStream(partial);
    const closed = once(out, 'close');
    const write = lineWriter(out);
    const record = (value: ExportRecord) => write(value);
    try {
      await write(header);
      for await (const event of source.log.readAll(sessionId)) {
        if (event.seq > events) break;
        await record({ t: 'event', event: event as unknown as Record<string, unknown> });
      }
      for (const version of versions) await record({ t: 'version', version });
      for (let i = 0; i < blobHashes.length; i += BLOB_BATCH) {
        const batch = blobHashes.slice(i, i + BLOB_BATCH);
        const found = await source.versions.getBlobs(batch);
        for (const hash of batch) {
          const bytes = found.get(hash);
          // Compaction only removes blobs no version names; these were named a moment ago.
          if (!bytes)
            throw new OrchestratorError('SNAPSHOT_CORRUPT', `blob ${hash} of session ${sessionId} is missing`);
          await record({ t: 'blob', hash, bytes: Buffer.from(bytes).toString('base64') });
        }
      }
      for await (const payload of payloadRecords(source.payloads, sessionId, payloads.hashes)) await record(payload);
      for (const transcript of transcripts) {
        const key = {
          projectKey: transcript.projectKey,
          sessionId: transcript.sdkSessionId,
          subpath: transcript.subpath,
        };
        const entries = (await source.transcripts?.loadTranscript(key)) ?? [];
        await record({
          t: 'transcript',
          sdkSessionId: transcript.sdkSessionId,
          ...(transcript.subpath !== undefined && { subpath: transcript.subpath }),
          place: transcript.place,
          cwd: transcript.cwd,
          entries: entries.length,
        });
        for (const entry of entries) await record({ t: 'entry', entry });
      }
      if (history) {
        for await (const part of createReadStream(bundleFile, { highWaterMark: HISTORY_PART_BYTES })) {
          await record({ t: 'history', data: (part as Buffer).toString('base64') });
        }
      }
      await record({ t: 'end' });
    } finally {
      out.end();
      await closed;
    }
    await rename(partial, file);
    return {
      sessionId,
      file,
      events,
      versions: versions.length,
      skippedVersions: skipped,
      blobs: blobHashes.length,
      payloads: payloads.hashes.length,
      skippedPayloads: payloads.skipped,
      transcripts: transcripts.length,
      historyBytes: history?.bytes ?? 0,
      bytes: (await stat(file)).size,
    };
  } finally {
    await rm(partial, { force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The session's versions up to `seq` that verify, and every blob they name (in first-use order). */
async function exportedVersions(source: ExportSource, sessionId: string, seq: number) {
  const versions: ExportedVersion[] = [];
  const skipped: number[] = [];
  const blobHashes = new Set<string>();
  const fetch = (hashes: string[]) => source.versions.getBlobs(hashes);
  for (const record of await source.versions.listVersions(sessionId)) {
    if (record.seq > seq) continue;
    let hashes: string[];
    try {
      hashes = await snapshotBlobHashes({ sessionId, version: record.version }, record, fetch);
    } catch (error) {
      if (error instanceof OrchestratorError && error.code === 'SNAPSHOT_CORRUPT') {
        skipped.push(record.version);
        continue;
      }
      throw error;
    }
    for (const hash of hashes) blobHashes.add(hash);
    versions.push(exportedVersion(record));
  }
  return { versions, skipped, blobHashes: [...blobHashes] };
}

function exportedVersion(record: VersionRecord): ExportedVersion {
  return {
    version: record.version,
    seq: record.seq,
    label: record.label,
    createdAt: record.createdAt,
    schemaVersion: record.schemaVersion,
    checksum: record.checksum,
    manifest: Buffer.from(record.manifest).toString('base64'),
    workspaceCommit: record.workspaceCommit,
    newBytes: record.newBytes,
  };
}

/**
 * The transcripts of the SDK sessions the session's agents used. Claude Code keys them by the
 * folder the agent worked in: the session workspace for shared nodes, else the worktree of the
 * node's attempt (`<dataDir>/worktrees/<sessionId>/<node>-<attempt>`). Both spellings of a
 * folder are tried (as recorded and with symlinks resolved). An agent killed before its first
 * transcript line has none: it is simply not there.
 */
export async function findTranscripts(
  source: Pick<ExportSource, 'transcripts' | 'dataDir'>,
  state: SessionState,
): Promise<FoundTranscript[]> {
  const store = source.transcripts;
  if (!store) return [];
  const wanted = new Map<string, string | undefined>();
  for (const agent of Object.values(state.agents)) {
    if (agent.sdkSessionId) wanted.set(agent.sdkSessionId, agent.nodeId);
  }
  if (wanted.size === 0) return [];
  const mains: Array<Omit<FoundTranscript, 'subpath'>> = [];
  const found = new Set<string>();
  const look = async (place: TranscriptPlace, folder: string, only?: string) => {
    for (const cwd of await spellings(folder)) {
      const projectKey = projectKeyOf(cwd);
      for (const { sessionId } of await store.listTranscriptSessions(projectKey)) {
        if (!wanted.has(sessionId) || (only !== undefined && sessionId !== only)) continue;
        if (mains.some((m) => m.projectKey === projectKey && m.sdkSessionId === sessionId)) continue;
        mains.push({ projectKey, sdkSessionId: sessionId, place, cwd });
        found.add(sessionId);
      }
    }
  };
  if (state.workspace) await look({ in: 'workspace' }, state.workspace);
  for (const [sdkSessionId, nodeId] of wanted) {
    if (found.has(sdkSessionId) || nodeId === undefined) continue;
    const attempts = Math.max(0, ...Object.values(state.workflows).map((wf) => wf.nodes[nodeId]?.attempts ?? 0));
    for (let attempt = 1; attempt <= attempts && !found.has(sdkSessionId); attempt++) {
      const label = `${nodeId}-${attempt}`;
      if (!WORKTREE_LABEL.test(label)) continue;
      await look(
        { in: 'worktree', label },
        path.join(source.dataDir, 'worktrees', state.sessionId, label),
        sdkSessionId,
      );
    }
  }
  const all: FoundTranscript[] = [];
  for (const main of mains) {
    all.push({ ...main, subpath: undefined });
    const subpaths = await store.listTranscriptSubkeys({ projectKey: main.projectKey, sessionId: main.sdkSessionId });
    for (const subpath of subpaths.sort()) all.push({ ...main, subpath });
  }
  return all;
}

/** A folder as recorded and, when different, with symlinks resolved. */
async function spellings(folder: string): Promise<string[]> {
  const resolved = path.resolve(folder);
  const real = await realpath(resolved).catch(() => resolved);
  return real === resolved ? [resolved] : [resolved, real];
}

const isFolder = (folder: string) =>
  stat(folder).then(
    (info) => info.isDirectory(),
    () => false,
  );

/** SHA-256 and size of a file, read as a stream. */
async function digest(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

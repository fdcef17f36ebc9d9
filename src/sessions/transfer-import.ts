import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { type PendingEvent, prepareEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { checkSafeName, childPath } from '../security/index.ts';
import type { PayloadStore, TranscriptEntry, TranscriptKey, TranscriptStore, VersionStore } from '../store/index.ts';
import { projectKeyOf, type WorkspaceHistory } from '../workspace/index.ts';
import { checkImportedWorkspace, checkMcpCommands, type ImportTrust } from './import-policy.ts';
import { movedCwd } from './transcript-copy.ts';
import { type CheckedExport, type CheckedTranscript, checkExport, importedEvent } from './transfer-check.ts';
import {
  anyHeaderSchema,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportRecord,
  fileLines,
  type ImportResult,
  invalidImport,
} from './transfer-format.ts';
import { PayloadImport } from './transfer-payloads.ts';
import { importV1 } from './transfer-v1.ts';

/**
 * The writing half of an import. Nothing is written before the whole file is checked (see
 * transfer-check.ts). Then, in this order: the log's events (in batches), the workspace history
 * repository, the workspace folder with the files as they were at the export, the transcripts
 * (re-keyed to the new folder), the payload blobs (which the session references from then
 * on: undoing the log's events drops the references with the session), the versions and
 * their blobs, and last a `session.imported`
 * event, which marks the import complete. Versions come late because the store never hands out
 * a version number twice: a failure before them leaves the numbers free for the next attempt.
 * Each step that wrote something registers how to undo it; when a later step fails they are
 * undone newest first, so a failed import leaves nothing behind (blobs that only the undone
 * versions named go with a compaction of the store). A process killed mid-import cannot undo:
 * its log then lacks `session.imported`, and the session, listed like any other, can be pruned.
 */

/** What an import writes to: narrow views of the stores, the history, and the data directory. */
export interface ImportTarget {
  readonly log: EventLog;
  readonly versions: Pick<
    VersionStore,
    'putBlobs' | 'putVersion' | 'listVersions' | 'deleteVersions' | 'deleteUnreferencedBlobs'
  >;
  /** Without it, an export that carries payload blobs is refused. */
  readonly payloads?: Pick<PayloadStore, 'putPayloads'> | undefined;
  /** Without it, an export that carries transcripts is refused. */
  readonly transcripts: Pick<TranscriptStore, 'appendTranscript' | 'loadTranscript' | 'deleteTranscript'> | undefined;
  readonly history: Pick<WorkspaceHistory, 'unbundle' | 'exists' | 'missingCommits' | 'checkout' | 'remove'>;
  /** The data directory: the imported session's workspace goes under it. */
  readonly dataDir: string;
}

/** Options of {@link importSession}: the id to import under, and what the operator trusts. */
export interface ImportOptions extends ImportTrust {
  /** Import under this session id (a safe name). @default the file's */
  readonly as?: string | undefined;
  /** Who imports it, for the audit (`api:<key id>:<name>`), recorded in `session.imported`. */
  readonly by?: string | undefined;
}

/** Events are appended this many at a time, transcript entries and blobs stored this many at a time. */
const BATCH = 500;

/**
 * Reads an export into the target as a new session (the same id unless `as` is given; under
 * another id the events get new ids and keep the originals as causation). Everything is
 * checked before the first write, an existing session is never overwritten, and a write that
 * fails half-way is undone.
 * @throws OrchestratorError `IMPORT_INVALID` (file, line, field), `SESSION_EXISTS`
 */
export async function importSession(
  target: ImportTarget,
  file: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  if (options.as !== undefined) checkSafeName(options.as, 'as');
  await assertReadableFile(file);
  const formatVersion = await readFormatVersion(file);
  if (formatVersion === 1) return importV1(target, file, options);
  const scratch = await mkdtemp(path.join(tmpdir(), 'orch-import-'));
  try {
    const checked = await checkExport({ file, as: options.as, history: target.history, scratch });
    try {
      checkMcpCommands(file, checked.findings.mcpCommands, options);
      return await write(target, file, checked, options);
    } finally {
      await checked.history?.discard();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A missing or unreadable file is the user's input error, named as such. @throws OrchestratorError `IMPORT_INVALID` */
async function assertReadableFile(file: string): Promise<void> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'not a file' : `cannot be read (${code})`;
    throw new OrchestratorError('IMPORT_INVALID', `${file}: ${why}`, { details: { file, reason: code } });
  }
}

/** The format version named by the first line. @throws OrchestratorError `IMPORT_INVALID` */
async function readFormatVersion(file: string): Promise<number> {
  for await (const { line, text } of fileLines(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidImport(file, line, 'not JSON (the file is truncated or not an export)');
    }
    const parsed = anyHeaderSchema.safeParse(value);
    if (!parsed.success) throw invalidImport(file, line, `not an ${EXPORT_FORMAT} export header`);
    if (parsed.data.formatVersion > EXPORT_FORMAT_VERSION) {
      throw invalidImport(
        file,
        line,
        `export format ${parsed.data.formatVersion} is newer than this orchestrator reads (${EXPORT_FORMAT_VERSION})`,
        'formatVersion',
      );
    }
    return parsed.data.formatVersion;
  }
  throw invalidImport(file, 0, 'the file is empty');
}

async function write(
  target: ImportTarget,
  file: string,
  checked: CheckedExport,
  trust: ImportTrust & { readonly by?: string | undefined },
): Promise<ImportResult> {
  const { header, sessionId } = checked;
  const plan = await planWrite(target, file, checked, trust);
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const digest = createHash('sha256');
    let first = true;
    let seq = 0;
    let events: PendingEvent[] = [];
    let placed: Awaited<ReturnType<typeof place>> | undefined;
    let transcript: { key: TranscriptKey; from: string; to: string; entries: TranscriptEntry[] } | undefined;
    const transcripts = [...checked.transcripts];
    const payloads = target.payloads && new PayloadImport(target.payloads, sessionId);
    const flushEvents = async () => {
      if (events.length === 0) return;
      await target.log.store.append(sessionId, events, { expectedLastSeq: seq - events.length });
      if (seq === events.length) undo.push(() => target.log.store.deleteSession(sessionId));
      events = [];
    };
    const flushEntries = async () => {
      if (!transcript || transcript.entries.length === 0) return;
      const { key, from, to } = transcript;
      await target.transcripts?.appendTranscript(
        key,
        transcript.entries.map((entry) => movedCwd(entry, from, to)),
      );
      transcript.entries = [];
    };
    for await (const { line, text } of fileLines(file)) {
      digest.update(`${text}\n`);
      if (first) {
        first = false;
        continue;
      }
      const record = JSON.parse(text) as ExportRecord;
      if (record.t === 'event') {
        seq++;
        events.push(importedEvent(file, line, record.event, header, seq, sessionId));
        if (events.length === BATCH) await flushEvents();
        continue;
      }
      if (!placed) {
        await flushEvents();
        placed = await place(target, checked, plan, undo);
      }
      if (record.t === 'payload') {
        // Checked against its hash already; the store checks it again.
        await payloads?.add(record);
      } else if (record.t === 'transcript') {
        await payloads?.flush();
        await flushEntries();
        const next = transcripts.shift() as CheckedTranscript;
        transcript = await openTranscript(target, next, placed, undo);
      } else if (record.t === 'entry' && transcript) {
        transcript.entries.push(record.entry as TranscriptEntry);
        if (transcript.entries.length === BATCH) await flushEntries();
      }
    }
    await payloads?.flush();
    await flushEntries();
    if (digest.digest('hex') !== checked.digest || !placed) {
      throw invalidImport(file, 0, 'the file changed while it was being imported');
    }
    const renumbered = await putVersions(target, checked, undo);
    await target.log.store.append(
      sessionId,
      [
        prepareEvent({
          type: 'session.imported',
          data: {
            fromSessionId: header.sessionId,
            fromStore: header.source.store,
            exportedAt: header.exportedAt,
            formatVersion: header.formatVersion,
            ...(header.workspace && { originalWorkspace: header.workspace.path }),
            workspace: placed.workspace,
            filesRestored: plan.restoreFiles,
            versions: checked.versions.length,
            ...(checked.payloads > 0 && { payloads: checked.payloads }),
            transcripts: checked.transcripts.length,
            ...(renumbered.length > 0 && { renumberedVersions: renumbered }),
            ...provenance(file, checked.digest, checked.findings.mcpCommands, trust),
            ...(trust.by !== undefined && { by: trust.by }),
          },
        }),
      ],
      { expectedLastSeq: seq },
    );
    return {
      sessionId,
      formatVersion: header.formatVersion,
      events: seq,
      versions: checked.versions.length,
      renumberedVersions: renumbered,
      payloads: checked.payloads,
      transcripts: checked.transcripts.length,
      workspace: placed.workspace,
      filesRestored: plan.restoreFiles,
    };
  } catch (error) {
    return undoAll(undo, error);
  }
}

/** Where the session goes, decided (and refused) before anything is written. */
interface WritePlan {
  /** The workspace on this side: the data directory's, or the custom folder it had (same id only). */
  readonly workspace: string;
  /** The history repository of that id exists already and holds every commit: it is used as it is. */
  readonly reuseHistory: boolean;
  /** The workspace is missing or empty and there are files to put in it. */
  readonly restoreFiles: boolean;
}

async function planWrite(
  target: ImportTarget,
  file: string,
  checked: CheckedExport,
  trust: ImportTrust,
): Promise<WritePlan> {
  const { header, sessionId } = checked;
  const nothing = 'nothing was written';
  // A session id names folders here (its workspace, its history): never a path elsewhere.
  checkSafeName(sessionId, checked.sessionId === header.sessionId ? 'header.sessionId' : 'as');
  if ((await target.log.lastSeq(sessionId)) > 0) {
    throw new OrchestratorError('SESSION_EXISTS', `session "${sessionId}" already exists; ${nothing}`);
  }
  const leftover = await target.versions.listVersions(sessionId);
  if (leftover.length > 0) {
    throw new OrchestratorError(
      'SESSION_EXISTS',
      `session "${sessionId}" has ${leftover.length} version(s) but no log (left by an interrupted import?); ${nothing}: import it under another id (--as)`,
    );
  }
  const custom = header.workspace && !header.workspace.inDataDir && sessionId === header.sessionId;
  if (custom && header.workspace) checkImportedWorkspace(file, header.workspace.path, target.dataDir, trust);
  const workspace =
    custom && header.workspace
      ? header.workspace.path
      : childPath(path.join(target.dataDir, 'workspaces'), [sessionId], ['sessionId']);
  let reuseHistory = false;
  if (checked.history && (await target.history.exists(sessionId))) {
    const commits = checked.versions.flatMap((v) => (v.version.workspaceCommit ? [v.version.workspaceCommit] : []));
    const missing = await target.history.missingCommits(sessionId, commits);
    if (missing.length > 0) {
      throw new OrchestratorError(
        'SESSION_EXISTS',
        `a workspace history of "${sessionId}" exists already and lacks ${missing.length} commit(s) of the export; ${nothing}: import it under another id (--as)`,
      );
    }
    reuseHistory = true;
  }
  if (checked.payloads > 0 && !target.payloads) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `the export carries ${checked.payloads} payload blob(s) and this session manager has no payload store; ${nothing}`,
    );
  }
  if (checked.transcripts.length > 0 && !target.transcripts) {
    throw new OrchestratorError(
      'INVALID_ARGUMENT',
      `the export carries ${checked.transcripts.length} transcript(s) and this session manager has no transcript store; ${nothing}`,
    );
  }
  return { workspace, reuseHistory, restoreFiles: checked.filesCommit !== null && (await isEmpty(workspace)) };
}

/** Stores the blobs, then the versions in order; returns those the store numbered differently. */
async function putVersions(target: ImportTarget, checked: CheckedExport, undo: Array<() => Promise<unknown>>) {
  const numbers: number[] = [];
  undo.push(async () => {
    if (numbers.length > 0) await target.versions.deleteVersions(checked.sessionId, numbers);
    await target.versions.deleteUnreferencedBlobs();
  });
  for (let i = 0; i < checked.blobs.length; i += BATCH)
    await target.versions.putBlobs(checked.blobs.slice(i, i + BATCH));
  const renumbered: Array<{ from: number; to: number }> = [];
  for (const { version, originalNumber } of checked.versions) {
    const stored = await target.versions.putVersion(version);
    numbers.push(stored.version);
    if (stored.version !== originalNumber) renumbered.push({ from: originalNumber, to: stored.version });
  }
  return renumbered;
}

/** Puts the history in place and the files in the workspace; returns the folders transcripts are keyed by. */
async function place(
  target: ImportTarget,
  checked: CheckedExport,
  plan: WritePlan,
  undo: Array<() => Promise<unknown>>,
) {
  const { sessionId } = checked;
  if (checked.history && !plan.reuseHistory) {
    await checked.history.adopt(sessionId);
    undo.push(() => target.history.remove(sessionId));
  }
  const existed = !(await isMissing(plan.workspace));
  await mkdir(plan.workspace, { recursive: true });
  if (!existed) undo.push(() => rm(plan.workspace, { recursive: true, force: true }));
  if (plan.restoreFiles && checked.filesCommit) {
    if (existed) undo.push(() => emptyFolder(plan.workspace));
    await target.history.checkout(sessionId, checked.filesCommit, plan.workspace);
  }
  const workspace = await realpath(plan.workspace);
  const dataDir = await realpath(target.dataDir).catch(() => path.resolve(target.dataDir));
  return {
    workspace: plan.workspace,
    cwdOf: (transcript: CheckedTranscript) =>
      transcript.place.in === 'workspace'
        ? workspace
        : childPath(path.join(dataDir, 'worktrees'), [sessionId, transcript.place.label], ['sessionId', 'label']),
  };
}

/** Starts writing one transcript under its key on this side; a key that did not exist goes on undo. */
async function openTranscript(
  target: ImportTarget,
  transcript: CheckedTranscript,
  placed: Awaited<ReturnType<typeof place>>,
  undo: Array<() => Promise<unknown>>,
) {
  const to = placed.cwdOf(transcript);
  const key: TranscriptKey = {
    projectKey: projectKeyOf(to),
    sessionId: transcript.sdkSessionId,
    ...(transcript.subpath !== undefined && { subpath: transcript.subpath }),
  };
  const store = target.transcripts as NonNullable<ImportTarget['transcripts']>;
  if ((await store.loadTranscript(key)) === null) undo.push(() => store.deleteTranscript(key));
  return { key, from: transcript.cwd, to, entries: [] as TranscriptEntry[] };
}

/**
 * Where an imported session came from, for its `session.imported` event: the file, its
 * digest, and what the operator trusted to let it in.
 */
export function provenance(
  file: string,
  digest: string,
  mcpCommands: readonly string[],
  trust: ImportTrust,
): { file: string; fileDigest: string; trustedMcpCommands?: string[]; workspaceRoots?: string[] } {
  return {
    file: path.resolve(file),
    fileDigest: digest,
    ...(mcpCommands.length > 0 && { trustedMcpCommands: [...new Set(mcpCommands)] }),
    ...(trust.workspaceRoots?.length && { workspaceRoots: trust.workspaceRoots.map((root) => path.resolve(root)) }),
  };
}

/** Undoes what was written, newest first, then rethrows (naming what could not be undone). */
async function undoAll(undo: Array<() => Promise<unknown>>, error: unknown): Promise<never> {
  const problems: string[] = [];
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (failure) {
      problems.push(toOrchestratorError(failure).message);
    }
  }
  if (problems.length === 0) throw error;
  const original = toOrchestratorError(error);
  throw new OrchestratorError(
    original.code,
    `${original.message}; undoing the partial import failed too: ${problems.join('; ')}`,
    { cause: error, details: { ...original.details, undoFailed: problems } },
  );
}

const isMissing = (folder: string) =>
  readdir(folder).then(
    () => false,
    () => true,
  );

const isEmpty = (folder: string) =>
  readdir(folder).then(
    (names) => names.length === 0,
    () => true,
  );

async function emptyFolder(folder: string): Promise<void> {
  for (const name of await readdir(folder)) await rm(path.join(folder, name), { recursive: true, force: true });
}

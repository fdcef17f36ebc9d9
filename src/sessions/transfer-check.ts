import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { type AnyEvent, isEventType, type PendingEvent, prepareEvent } from '../events/index.ts';
import type { Blob, NewVersion } from '../store/index.ts';
import type { IncomingHistory, WorkspaceHistory } from '../workspace/index.ts';
import { openBlob } from './blob-pack.ts';
import { StateChunker } from './chunks.ts';
import { ImportFindings } from './import-policy.ts';
import {
  readSnapshot,
  SNAPSHOT_SCHEMA_VERSION,
  type SnapshotBlobRef,
  snapshotBlobsLinked,
  writeSnapshot,
} from './snapshot.ts';
import {
  type ExportedVersion,
  type ExportHeader,
  type ExportRecord,
  fileLines,
  firstIssue,
  headerSchema,
  invalidImport,
  recordSchema,
  SECTION_ORDER,
  type TranscriptPlace,
} from './transfer-format.ts';
import { checkPayloadLine } from './transfer-payloads.ts';

/**
 * The checking half of an import (format 2): one pass over the file that verifies everything
 * before anything is written. Every line is parsed against its record's schema; events must be
 * known types valid for their schema, with sequence numbers 1..N; every blob must match its
 * hash; every version must load and verify from the file's blobs alone; the history bundle
 * must match its digest, unpack, and hold every commit the versions name; counts must match
 * the header, and the file must end with its end line. Blobs and version records are kept in
 * memory (the size of a session's states); events and transcript entries are only counted
 * (the writing pass reads them again); the history goes to a scratch file.
 */

/** A transcript announced by the file. */
export interface CheckedTranscript {
  readonly line: number;
  readonly sdkSessionId: string;
  readonly subpath: string | undefined;
  readonly place: TranscriptPlace;
  readonly cwd: string;
  readonly entries: number;
}

/** A version ready to store under the target session id, with the number it had. */
export interface CheckedVersion {
  readonly line: number;
  readonly originalNumber: number;
  readonly version: NewVersion;
}

/** Everything the writing pass needs, checked. */
export interface CheckedExport {
  readonly header: ExportHeader;
  /** The session id the import writes: the header's, or the one asked for. */
  readonly sessionId: string;
  readonly versions: readonly CheckedVersion[];
  /** Every blob the versions need (re-cut ones included), by hash. */
  readonly blobs: readonly Blob[];
  readonly transcripts: readonly CheckedTranscript[];
  /** Payload lines, each checked against its hash (the writing pass reads them again). */
  readonly payloads: number;
  /** The history unpacked beside the sessions' repositories, not yet adopted; null without one. */
  readonly history: IncomingHistory | null;
  /** The commit whose files the workspace gets: the history's head (the files as they were at the export). */
  readonly filesCommit: string | null;
  /** SHA-256 over every line of the file, so the writing pass can tell the file did not change. */
  readonly digest: string;
  /** Recorded workspaces and MCP commands, for the operator's trust settings. */
  readonly findings: ImportFindings;
}

/** What the check needs besides the file. */
export interface CheckContext {
  readonly file: string;
  /** Import under this session id instead of the header's. @default the header's */
  readonly as: string | undefined;
  readonly history: Pick<WorkspaceHistory, 'unbundle'>;
  /** A scratch folder for the history bundle. */
  readonly scratch: string;
}

/**
 * Checks a format 2 export. On success the caller owns `history` (adopt or discard it).
 * @throws OrchestratorError `IMPORT_INVALID` naming the file, line and field
 */
export async function checkExport(context: CheckContext): Promise<CheckedExport> {
  const { file } = context;
  const digest = createHash('sha256');
  let header: ExportHeader | undefined;
  let rank = 0;
  let ended = false;
  let events = 0;
  const versions: Array<{ line: number; version: ExportedVersion }> = [];
  const blobs = new Map<string, Uint8Array>();
  const transcripts: CheckedTranscript[] = [];
  const keys = new Set<string>();
  let open: { transcript: CheckedTranscript; left: number } | undefined;
  const bundleFile = path.join(context.scratch, 'history.bundle');
  let bundle:
    | { out: ReturnType<typeof createWriteStream>; hash: ReturnType<typeof createHash>; bytes: number; line: number }
    | undefined;
  let lastLine = 0;
  const payloads = new Set<string>();
  const findings = new ImportFindings();
  const closeTranscript = (line: number) => {
    if (open && open.left > 0) {
      throw invalidImport(
        file,
        line,
        `the transcript of line ${open.transcript.line} announces ${open.transcript.entries} entries, ${open.transcript.entries - open.left} follow`,
        'entries',
      );
    }
    open = undefined;
  };
  try {
    for await (const { line, text } of fileLines(file)) {
      lastLine = line;
      digest.update(`${text}\n`);
      const value = parseJson(file, line, text);
      if (!header) {
        const parsed = headerSchema.safeParse(value);
        if (!parsed.success) {
          const { field, why } = firstIssue(parsed.error, 'header');
          throw invalidImport(file, line, why, field);
        }
        header = parsed.data;
        continue;
      }
      if (ended) throw invalidImport(file, line, 'nothing may follow the end line');
      const parsed = recordSchema.safeParse(value);
      if (!parsed.success) {
        const { field, why } = firstIssue(parsed.error, '');
        throw invalidImport(file, line, why, field);
      }
      const record: ExportRecord = parsed.data;
      if (SECTION_ORDER[record.t] < rank)
        throw invalidImport(file, line, `a ${record.t} line after a later section`, 't');
      rank = SECTION_ORDER[record.t];
      if (record.t !== 'entry') closeTranscript(line);
      switch (record.t) {
        case 'event':
          importedEvent(file, line, record.event, header, events + 1, context.as ?? header.sessionId);
          findings.observe(record.event);
          events++;
          break;
        case 'version': {
          const previous = versions.at(-1)?.version;
          if (previous && record.version.version <= previous.version)
            throw invalidImport(
              file,
              line,
              `version ${record.version.version} comes after version ${previous.version}`,
              'version.version',
            );
          if (record.version.seq > header.counts.events)
            throw invalidImport(
              file,
              line,
              `seq ${record.version.seq} is past the log's ${header.counts.events} events`,
              'version.seq',
            );
          versions.push({ line, version: record.version });
          break;
        }
        case 'blob': {
          if (blobs.has(record.hash)) throw invalidImport(file, line, `blob ${record.hash} appears twice`, 'hash');
          const bytes = new Uint8Array(Buffer.from(record.bytes, 'base64'));
          checkBlob(file, line, record.hash, bytes);
          blobs.set(record.hash, bytes);
          break;
        }
        case 'payload':
          if (header.formatVersion < 3) throw invalidImport(file, line, 'a payload line in a format 2 file', 't');
          checkPayloadLine(file, line, record, payloads);
          break;
        case 'transcript': {
          const key = `${record.place.in}/${record.place.in === 'worktree' ? record.place.label : ''}/${record.sdkSessionId}/${record.subpath ?? ''}`;
          if (keys.has(key)) throw invalidImport(file, line, 'this transcript appears twice', 'sdkSessionId');
          keys.add(key);
          const transcript = { line, ...record, subpath: record.subpath };
          transcripts.push(transcript);
          open = { transcript, left: record.entries };
          break;
        }
        case 'entry':
          if (!open || open.left === 0) throw invalidImport(file, line, 'an entry line outside a transcript', 't');
          open.left--;
          break;
        case 'history': {
          if (!header.history)
            throw invalidImport(file, line, 'a history part, but the header announces no history', 't');
          if (!bundle) {
            const out = createWriteStream(bundleFile);
            bundle = { out, hash: createHash('sha256'), bytes: 0, line };
          }
          const bytes = Buffer.from(record.data, 'base64');
          bundle.hash.update(bytes);
          bundle.bytes += bytes.length;
          if (!bundle.out.write(bytes)) await once(bundle.out, 'drain');
          break;
        }
        case 'end':
          ended = true;
          break;
      }
    }
  } finally {
    if (bundle) {
      bundle.out.end();
      await once(bundle.out, 'close');
    }
  }
  if (!header) throw invalidImport(file, 0, 'the file is empty');
  if (!ended) throw invalidImport(file, lastLine, 'the file ends before its end line (it is truncated)');
  if (events === 0) throw invalidImport(file, 1, 'the export holds no event', 'header.counts.events');
  const { counts } = header;
  const mismatch = (what: string, found: number, announced: number) =>
    invalidImport(file, 1, `the header announces ${announced} ${what}, the file has ${found}`, `header.counts.${what}`);
  if (events !== counts.events) throw mismatch('events', events, counts.events);
  if (versions.length !== counts.versions) throw mismatch('versions', versions.length, counts.versions);
  if (blobs.size !== counts.blobs) throw mismatch('blobs', blobs.size, counts.blobs);
  if (payloads.size !== (counts.payloads ?? 0)) throw mismatch('payloads', payloads.size, counts.payloads ?? 0);
  if (transcripts.length !== counts.transcripts) throw mismatch('transcripts', transcripts.length, counts.transcripts);
  if ((bundle?.bytes ?? 0) !== counts.historyBytes)
    throw mismatch('historyBytes', bundle?.bytes ?? 0, counts.historyBytes);
  if (header.history && bundle && bundle.hash.digest('hex') !== header.history.sha256)
    throw invalidImport(file, bundle.line, 'the history bundle does not match its SHA-256 in the header', 'data');

  const sessionId = context.as ?? header.sessionId;
  const checked = await checkVersions(context.file, sessionId, header, versions, blobs, findings);
  const commits = versions.flatMap(({ version }) => (version.workspaceCommit ? [version.workspaceCommit] : []));
  const withCommit = versions.find(({ version }) => version.workspaceCommit);
  if (withCommit && !header.history)
    throw invalidImport(
      file,
      withCommit.line,
      'the version names workspace files, but the file has no history',
      'version.workspaceCommit',
    );
  let history: IncomingHistory | null = null;
  if (header.history) {
    try {
      history = await context.history.unbundle(bundleFile, header.history.head, commits);
    } catch (error) {
      throw invalidImport(
        file,
        bundle?.line ?? 0,
        `the history bundle is unusable: ${error instanceof Error ? error.message : String(error)}`,
        'data',
      );
    }
  }
  return {
    header,
    sessionId,
    ...checked,
    transcripts,
    payloads: payloads.size,
    history,
    filesCommit: header.history?.head ?? null,
    digest: digest.digest('hex'),
    findings,
  };
}

/**
 * Checks one exported event and prepares it for the target session: same session, the next
 * sequence number, a known type, a valid payload. Under another session id it gets a new id
 * and keeps the original as its causation.
 * @throws OrchestratorError `IMPORT_INVALID`
 */
export function importedEvent(
  file: string,
  line: number,
  value: Record<string, unknown>,
  header: { sessionId: string },
  seq: number,
  sessionId: string,
): PendingEvent {
  const event = value as unknown as AnyEvent;
  if (typeof event.type !== 'string' || !isEventType(event.type))
    throw invalidImport(file, line, `unknown event type ${JSON.stringify(event.type)}`, 'event.type');
  if (event.sessionId !== header.sessionId)
    throw invalidImport(
      file,
      line,
      `event of session ${JSON.stringify(event.sessionId)} in an export of ${header.sessionId}`,
      'event.sessionId',
    );
  if (event.seq !== seq) throw invalidImport(file, line, `expected seq ${seq}, found ${event.seq}`, 'event.seq');
  try {
    const copy = sessionId !== header.sessionId ? { ...event, id: undefined, causationId: event.id } : event;
    return prepareEvent(copy as never);
  } catch (error) {
    throw invalidImport(file, line, error instanceof Error ? error.message : String(error), 'event');
  }
}

function parseJson(file: string, line: number, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidImport(file, line, 'not JSON (the file is truncated or not an export)');
  }
}

function checkBlob(file: string, line: number, hash: string, bytes: Uint8Array): void {
  try {
    openBlob('blob', hash, bytes);
  } catch (error) {
    throw invalidImport(file, line, error instanceof Error ? error.message : String(error), 'bytes');
  }
}

/**
 * Loads every version from the file's blobs (which verifies it up to its root), and prepares
 * it for the store: the blobs it names, and under another session id a re-cut snapshot whose
 * state names the new id (a version is the replay of its own session's log).
 */
async function checkVersions(
  file: string,
  sessionId: string,
  header: ExportHeader,
  versions: ReadonlyArray<{ line: number; version: ExportedVersion }>,
  blobs: Map<string, Uint8Array>,
  findings: ImportFindings,
): Promise<{ versions: CheckedVersion[]; blobs: Blob[] }> {
  const fetch = async (hashes: string[]) => {
    const found = new Map<string, Uint8Array>();
    for (const hash of hashes) {
      const bytes = blobs.get(hash);
      if (bytes) found.set(hash, bytes);
    }
    return found;
  };
  const renamed = sessionId !== header.sessionId;
  const chunker = new StateChunker();
  const out: CheckedVersion[] = [];
  // In the order the store takes them with links (what a page names before it); a blob of an
  // earlier version keeps its place, which is earlier still.
  const needed = new Map<string, Omit<Blob, 'hash'>>();
  const need = (hash: string, bytes: Uint8Array, links: readonly string[] | undefined) => {
    if (!needed.has(hash)) needed.set(hash, links ? { bytes, links: [...links] } : { bytes });
  };
  for (const { line, version } of versions) {
    const where = { sessionId: header.sessionId, version: version.version };
    const record = {
      manifest: new Uint8Array(Buffer.from(version.manifest, 'base64')),
      checksum: version.checksum,
      schemaVersion: version.schemaVersion,
    };
    let state: Awaited<ReturnType<typeof readSnapshot>>;
    let refs: SnapshotBlobRef[];
    try {
      state = await readSnapshot(where, record, fetch);
      refs = await snapshotBlobsLinked(where, record, fetch);
    } catch (error) {
      throw invalidImport(file, line, error instanceof Error ? error.message : String(error), 'version');
    }
    // A snapshot is state the session resumes from: its workflow definitions count too.
    findings.observeState(state);
    if (state.sessionId !== header.sessionId || state.lastSeq !== version.seq)
      throw invalidImport(
        file,
        line,
        `the snapshot is of ${state.sessionId} at seq ${state.lastSeq}, not of this session at seq ${version.seq}`,
        'version',
      );
    const base = {
      sessionId,
      seq: version.seq,
      label: version.label,
      createdAt: version.createdAt,
      workspaceCommit: version.workspaceCommit,
      newBytes: version.newBytes,
    };
    if (!renamed) {
      for (const { hash, links } of refs) need(hash, blobs.get(hash) as Uint8Array, links);
      // The root page names the rest through its links, as in a version taken here.
      out.push({
        line,
        originalNumber: version.version,
        version: { ...base, ...record, blobHashes: [record.checksum] },
      });
      continue;
    }
    const cut = writeSnapshot({ ...state, sessionId }, chunker, (hash) => needed.has(hash));
    for (const [hash, bytes] of cut.newBlobs) need(hash, bytes, cut.links.get(hash));
    chunker.markStored(cut.newBlobs.keys());
    out.push({
      line,
      originalNumber: version.version,
      version: {
        ...base,
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        checksum: cut.checksum,
        manifest: cut.manifest,
        blobHashes: cut.roots,
      },
    });
  }
  return { versions: out, blobs: [...needed].map(([hash, blob]) => ({ hash, ...blob })) };
}

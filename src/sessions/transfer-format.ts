import { once } from 'node:events';
import { createReadStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';
import { isSafeName, safeNameProblem } from '../security/index.ts';
import { MAX_SUBPATH_LENGTH } from '../store/index.ts';

/**
 * The session export file, format 3: JSON lines, one record per line, each tagged by `t`, in
 * this order (a reader streams it; nothing needs the whole file in memory):
 *
 * ```text
 * header                      format, formatVersion, sessionId, exportedAt, source store,
 *                             original workspace, counts, history digest
 * {t:'event'}      × events   the log, seq 1..N, as stored
 * {t:'version'}    × versions version records (manifest in base64), oldest first
 * {t:'blob'}       × blobs    every page and chunk those versions name: hash + stored bytes
 *                             (base64); the hash is the SHA-256 of the unpacked text
 * {t:'payload'}    × payloads the full values of event fields the log shortened (the
 *                             session's payload blobs): hash + bytes (base64); the hash is
 *                             the SHA-256 of the bytes
 * {t:'transcript'} + entries  an agent's SDK transcript: its SDK session id, subpath, the
 *   {t:'entry'}    × entries  place it was kept (the session workspace or a node's worktree)
 *                             and that place's original folder, then its entries in order
 * {t:'history'}    × parts    a git bundle of the session's workspace history (its head: the
 *                             workspace's files at the export), in base64 parts of at most
 *                             768 KiB of bundle each
 * {t:'end'}                   nothing follows; a file without it is truncated
 * ```
 *
 * Format 2 (the same without payloads: `counts.payloads` absent, no payload line) and format 1
 * (events only: a header line without `t`, then bare events) are still read.
 */

/** Format name written in the first line of an export. */
export const EXPORT_FORMAT = 'ai-orchestrator/session';
/** Format version this build writes; it reads this one and every older one. */
export const EXPORT_FORMAT_VERSION = 3;

/** Bundle bytes per `history` line (a multiple of 3, so each part is whole base64). */
export const HISTORY_PART_BYTES = 768 * 1024;

const count = z.number().int().nonnegative();
const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest (64 hex digits)');
const commit = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a git commit id (40 or 64 hex digits)');
const base64 = z.string().refine((text) => text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text), 'base64 text');

/** A session id of a file: a safe name, since it names folders and branches here. */
const safeSessionId = z.string().superRefine((id, ctx) => {
  const problem = safeNameProblem(id);
  if (problem) ctx.addIssue({ code: 'custom', message: `a session id must be a safe name: ${problem}` });
});

/** A transcript subpath (`subagents/agent-1`): relative, each part a safe name. */
const subpath = z
  .string()
  .min(1)
  .max(MAX_SUBPATH_LENGTH)
  .refine((value) => value.split('/').every((part) => isSafeName(part)), {
    error: 'a relative path whose parts are safe names (no "..", no absolute path)',
  });

/** The first line of any export: enough to tell the format version. */
export const anyHeaderSchema = z.looseObject({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int().positive(),
});

/** The header of format 1. */
export const headerV1Schema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.literal(1),
  sessionId: safeSessionId,
  events: count,
  exportedAt: z.string(),
});

/** The header of formats 2 and 3 (3 adds payloads). */
export const headerSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.union([z.literal(2), z.literal(3)]),
  sessionId: safeSessionId,
  exportedAt: z.iso.datetime({ offset: true }),
  /** The store the session was exported from (`sqlite`, `postgres`). */
  source: z.object({ store: z.string() }),
  /**
   * The session's workspace where it was exported; `inDataDir` when it was the data
   * directory's own (`<dataDir>/workspaces/<sessionId>`), not a folder the user chose.
   */
  workspace: z
    .object({ path: z.string().refine((p) => path.isAbsolute(p), 'an absolute path'), inDataDir: z.boolean() })
    .nullable(),
  counts: z.object({
    events: count,
    versions: count,
    blobs: count,
    /** Payload blobs (format 3; absent in format 2: none). */
    payloads: count.optional(),
    /** Transcripts (keys: main and subagent ones), not entries. */
    transcripts: count,
    historyBytes: count,
  }),
  /**
   * The bundle's head commit (the workspace's files when it was exported) and the SHA-256 of
   * its bytes, when the session has a history.
   */
  history: z.object({ head: commit, sha256: hash }).nullable(),
});
export type ExportHeader = z.infer<typeof headerSchema>;

/** A version record as exported (the number is the one it had where it was exported). */
export const versionSchema = z.object({
  version: z.number().int().positive(),
  seq: count,
  label: z.string().max(1000).nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  schemaVersion: z.number().int().positive(),
  checksum: hash,
  manifest: base64,
  workspaceCommit: commit.nullable(),
  newBytes: count,
});
export type ExportedVersion = z.infer<typeof versionSchema>;

/** The name of a node attempt's worktree folder: the node id, `-`, the attempt. */
export const WORKTREE_LABEL = /^[A-Za-z][A-Za-z0-9_-]{0,63}-[1-9][0-9]{0,8}$/;

/** Where a transcript was kept: the session workspace, or a node attempt's worktree. */
export const placeSchema = z.discriminatedUnion('in', [
  z.object({ in: z.literal('workspace') }),
  z.object({ in: z.literal('worktree'), label: z.string().regex(WORKTREE_LABEL, 'a worktree label (NODE-ATTEMPT)') }),
]);
export type TranscriptPlace = z.infer<typeof placeSchema>;

/** The lines after the header, by their tag. */
export const recordSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('event'), event: z.looseObject({}) }),
  z.object({ t: z.literal('version'), version: versionSchema }),
  z.object({ t: z.literal('blob'), hash, bytes: base64 }),
  z.object({ t: z.literal('payload'), hash, bytes: base64 }),
  z.object({
    t: z.literal('transcript'),
    sdkSessionId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'an SDK session id'),
    subpath: subpath.optional(),
    place: placeSchema,
    /** The folder the agent worked in where the session was exported. */
    cwd: z.string().min(1),
    entries: count,
  }),
  z.object({ t: z.literal('entry'), entry: z.looseObject({ type: z.string() }) }),
  z.object({ t: z.literal('history'), data: base64 }),
  z.object({ t: z.literal('end') }),
]);
export type ExportRecord = z.infer<typeof recordSchema>;

/** Records must come in this order of sections (`entry` lines belong to the transcript before them). */
export const SECTION_ORDER: Readonly<Record<ExportRecord['t'], number>> = {
  event: 1,
  version: 2,
  blob: 3,
  payload: 4,
  transcript: 5,
  entry: 5,
  history: 6,
  end: 7,
};

/** What an import wrote. */
export interface ImportResult {
  readonly sessionId: string;
  /** The format of the file read (1: events only). */
  readonly formatVersion: number;
  /** Events read from the file (the log also gets a `session.imported` event after them, from format 2). */
  readonly events: number;
  readonly versions: number;
  /** Versions the store numbered differently from the export (it never reuses a number of a session id). */
  readonly renumberedVersions: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** Payload blobs (full values of shortened event fields) stored for the session. */
  readonly payloads: number;
  readonly transcripts: number;
  /** The session's workspace on this side; undefined for format 1 (the log's own stays). */
  readonly workspace: string | undefined;
  /** True when the workspace got the exported files; false when it already held files, or none were exported. */
  readonly filesRestored: boolean;
}

/** The `IMPORT_INVALID` error: the file, the line (0 for the file as a whole) and why. */
export function invalidImport(file: string, line: number, why: string, field?: string): OrchestratorError {
  return new OrchestratorError('IMPORT_INVALID', `${file}:${line}: ${field ? `${field}: ` : ''}${why}`, {
    details: { file, line, ...(field !== undefined && { field }) },
  });
}

/** The first problem of a failed parse, as `field: message` (field is the JSON path in the line). */
export function firstIssue(error: z.ZodError, prefix: string): { field: string; why: string } {
  const issue = error.issues[0];
  const field = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join('.');
  return { field: field || '(line)', why: issue?.message ?? 'invalid' };
}

/** The lines of a file with their numbers (1-based); blank lines are skipped. */
export async function* fileLines(file: string): AsyncGenerator<{ line: number; text: string }> {
  // Loaded here, for an import only: node:readline costs about 1 MB resident at every import of the library.
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() !== '') yield { line, text };
    }
  } finally {
    lines.close();
  }
}

/** Writes lines to a stream, waiting when it asks to. */
export function lineWriter(out: WriteStream): (value: unknown) => Promise<void> {
  return async (value) => {
    if (!out.write(`${JSON.stringify(value)}\n`)) await once(out, 'drain');
  };
}

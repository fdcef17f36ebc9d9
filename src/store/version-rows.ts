import { createHash } from 'node:crypto';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';
import { checkArray, checkHash, checkVersionNumber, MAX_SESSION_ID_LENGTH } from './arguments.ts';
import type { Blob, NewVersion, VersionRecord } from './version-store.ts';

/**
 * What both backends share about versions: the checks of every argument (so both refuse the
 * same inputs with the same messages), and the mapping of a stored row to a record.
 */

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest (64 hex digits)');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const newVersionSchema = z.strictObject({
  sessionId: z.string().min(1).max(MAX_SESSION_ID_LENGTH),
  seq: count,
  label: z.string().max(1000).nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  schemaVersion: z.number().int().min(1).max(1_000_000),
  checksum: hash,
  manifest: z.instanceof(Uint8Array),
  workspaceCommit: z.string().min(1).max(200).nullable(),
  newBytes: count,
  blobHashes: z.array(hash),
});

/**
 * Validates a version to store and removes repeated blob hashes.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming every bad field.
 */
export function checkNewVersion(version: NewVersion): NewVersion {
  const parsed = newVersionSchema.safeParse(version);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `version.${issue.path.join('.')}: ${issue.message}`);
    throw new OrchestratorError('INVALID_ARGUMENT', `putVersion: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return { ...parsed.data, blobHashes: [...new Set(parsed.data.blobHashes)] };
}

/** Validates blobs and keeps the first of each hash. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkBlobs(blobs: readonly Blob[]): Blob[] {
  const unique = new Map<string, Blob>();
  for (const [i, blob] of checkArray(blobs, 'blobs').entries()) {
    const { hash: value, bytes } = (blob ?? {}) as Partial<Blob>;
    checkHash(value, `blobs[${i}].hash`);
    if (!(bytes instanceof Uint8Array)) {
      throw new OrchestratorError('INVALID_ARGUMENT', `blobs[${i}].bytes must be a Uint8Array`, {
        details: { field: `blobs[${i}].bytes` },
      });
    }
    const links = (blob as Partial<Blob>).links;
    if (links !== undefined) {
      for (const [j, link] of checkArray(links, `blobs[${i}].links`).entries())
        checkHash(link, `blobs[${i}].links[${j}]`);
    }
    if (!unique.has(value as string)) {
      unique.set(
        value as string,
        links && links.length > 0 ? { hash: value as string, bytes, links } : { hash: value as string, bytes },
      );
    }
  }
  return [...unique.values()];
}

/** Validates hashes and removes repeats. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkHashes(hashes: readonly string[]): string[] {
  const list = checkArray(hashes, 'hashes');
  return [...new Set(list.map((value, i) => checkHash(value, `hashes[${i}]`)))];
}

/** Validates a list of version numbers and removes repeats. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkVersionNumbers(versions: readonly number[]): number[] {
  const list = checkArray(versions, 'versions');
  return [...new Set(list.map((value, i) => checkVersionNumber(value, `versions[${i}]`)))];
}

/**
 * The refusal of a version whose blobs are not all stored. It happens when the caller skipped
 * `putBlobs`, or when a compaction ran between `putBlobs` and `putVersion` and removed the
 * then-unreferenced blobs: putting the blobs again and retrying succeeds, hence retryable.
 */
export function missingBlobs(sessionId: string, missing: readonly string[]): OrchestratorError {
  const shown = missing.slice(0, 3).join(', ');
  return new OrchestratorError(
    'INVALID_ARGUMENT',
    `putVersion for session "${sessionId}": ${missing.length} blob(s) it names are not stored (${shown}${
      missing.length > 3 ? ', ...' : ''
    }); put its blobs first (a compaction may have removed them since)`,
    { details: { sessionId, missing: missing.slice(0, 20), missingCount: missing.length }, retryable: true },
  );
}

/**
 * The refusal of pages whose links name blobs that are not stored: the caller skipped them, or a
 * compaction removed them since they were put (unreferenced then); putting them again and
 * retrying succeeds, hence retryable.
 */
export function missingLinks(missing: readonly string[]): OrchestratorError {
  const shown = missing.slice(0, 3).join(', ');
  return new OrchestratorError(
    'INVALID_ARGUMENT',
    `putBlobs: ${missing.length} blob(s) the pages name are not stored (${shown}${
      missing.length > 3 ? ', ...' : ''
    }); put them in the same call or before (a compaction may have removed them since)`,
    { details: { missing: missing.slice(0, 20), missingCount: missing.length }, retryable: true },
  );
}

/** The record a stored version becomes once it has its number. */
export function toVersionRecord(version: NewVersion, number: number): VersionRecord {
  const { blobHashes: _hashes, ...record } = version;
  return { ...record, version: number };
}

/** A version row as both backends select it (see {@link VERSION_COLUMNS}). */
export interface VersionRow {
  session_id: string;
  version: number;
  seq: number;
  label: string | null;
  created_at: string;
  schema_version: number;
  checksum: string;
  manifest: Uint8Array;
  workspace_commit: string | null;
  new_bytes: number;
}

/** The columns of a version row, in the order of {@link VersionRow}. */
export const VERSION_COLUMNS =
  'session_id, version, seq, label, created_at, schema_version, checksum, manifest, workspace_commit, new_bytes';

/** A stored row as a record; bytes become a plain `Uint8Array` view (a `Buffer` is one too, but compares unequal). */
export function fromVersionRow(row: VersionRow): VersionRecord {
  return {
    sessionId: row.session_id,
    version: Number(row.version),
    seq: Number(row.seq),
    label: row.label,
    createdAt: row.created_at,
    schemaVersion: Number(row.schema_version),
    checksum: row.checksum,
    manifest: plainBytes(row.manifest),
    workspaceCommit: row.workspace_commit,
    newBytes: Number(row.new_bytes),
  };
}

/** A `Uint8Array` over the same memory (no copy). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A group of blob hashes a version refers to, named by the SHA-256 of its sorted members. */
export interface RefSet {
  readonly digest: string;
  readonly hashes: readonly string[];
}

/**
 * Used by migration 4 only (versions have named their root page since migration 8; the sets
 * of versions written in between are still honoured by compaction).
 *
 * Splits a version's blob hashes into reference sets by hash prefix. Consecutive versions of a
 * session share most blobs, so they share every set none of whose members changed: a new
 * version stores only its changed sets (a few dozen hashes each) plus one row per set it
 * uses, instead of one row per blob. About 4·√n sets of about √n/4 hashes each balances the
 * two (rounded to a power of two, so a hash's set depends only on the hash and the count).
 */
export function refSets(hashes: readonly string[]): RefSet[] {
  if (hashes.length === 0) return [];
  const buckets = 2 ** Math.min(24, Math.ceil(Math.log2(Math.max(1, 4 * Math.sqrt(hashes.length)))));
  const groups = new Map<number, string[]>();
  for (const hash of hashes) {
    const bucket = Number.parseInt(hash.slice(0, 8), 16) % buckets;
    const group = groups.get(bucket);
    if (group) group.push(hash);
    else groups.set(bucket, [hash]);
  }
  return [...groups.values()].map((group) => {
    group.sort();
    return { digest: createHash('sha256').update(group.join(',')).digest('hex'), hashes: group };
  });
}

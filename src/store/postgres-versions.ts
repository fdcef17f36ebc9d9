import type { PoolClient } from 'pg';
import { checkSessionId, checkVersionNumber } from './arguments.ts';
import { postgresError } from './postgres-errors.ts';
import { inTransaction, type PostgresAccess, queryRows } from './postgres-pool.ts';
import {
  checkBlobs,
  checkHashes,
  checkNewVersion,
  checkVersionNumbers,
  fromVersionRow,
  missingBlobs,
  plainBytes,
  type RefSet,
  refSets,
  toVersionRecord,
  VERSION_COLUMNS,
  type VersionRow,
} from './version-rows.ts';
import type { Blob, NewVersion, VersionRecord, VersionStore } from './version-store.ts';

/** Most bytes of blobs sent in one statement (parameters travel as hex text, twice the size). */
const BLOB_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * The {@link VersionStore} half of the PostgreSQL store, on the store's shared pool.
 *
 * Version numbers come from an upsert of the session's counter row, which locks that row until
 * commit: concurrent writers (connections, processes, machines) queue on it and each gets the
 * next number. Compaction and `putVersion` exclude each other with an advisory lock (shared
 * for `putVersion`, exclusive for compaction), taken in a statement of its own before the
 * check that the version's blobs exist, so that check sees every committed compaction and no
 * compaction can delete a blob between the check and the references. Concurrent `putVersion`
 * calls share the lock and do not wait for each other. A version refers to blobs through
 * shared reference sets (`refSets`): it writes only the sets it does not share with a stored
 * version, plus one row per set it uses.
 */
export class PostgresVersions implements VersionStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async putBlobs(blobs: readonly Blob[]): Promise<number> {
    const unique = checkBlobs(blobs);
    if (unique.length === 0) return 0;
    // Most blobs of a new version are stored already: ask which are missing (hashes are small)
    // and send only their bytes, which travel as hex text at twice their size.
    const missing = await queryRows<{ hash: string }>(this.#access, 'putBlobs', {
      name: 'orch_missing_blobs',
      text: this.#sql.missingBlobs,
      values: [unique.map((b) => b.hash)],
    });
    const wanted = new Set(missing.map((row) => row.hash));
    let added = 0;
    for (const batch of batches(unique.filter((b) => wanted.has(b.hash)))) {
      const rows = await queryRows<{ size: number }>(this.#access, 'putBlobs', {
        name: `orch_put_blobs`,
        text: this.#sql.putBlobs,
        values: [
          batch.map((b) => b.hash),
          batch.map((b) => Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength)),
        ],
      });
      for (const row of rows) added += Number(row.size);
    }
    return added;
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, Uint8Array>> {
    const unique = checkHashes(hashes);
    const found = new Map<string, Uint8Array>();
    if (unique.length === 0) return found;
    const rows = await queryRows<{ hash: string; bytes: Buffer }>(this.#access, 'getBlobs', {
      name: 'orch_get_blobs',
      text: this.#sql.getBlobs,
      values: [unique],
    });
    for (const row of rows) found.set(row.hash, plainBytes(row.bytes));
    return found;
  }

  async putVersion(version: NewVersion): Promise<VersionRecord> {
    const v = checkNewVersion(version);
    const sets = refSets(v.blobHashes);
    const number = await inTransaction(this.#access, 'putVersion', async (client) => {
      await client.query(this.#sql.shareBlobs);
      const ids = new Map<string, number>();
      const found = await client.query<{ id: number; digest: string }>({
        name: 'orch_find_ref_sets',
        text: this.#sql.findSets,
        values: [sets.map((set) => set.digest)],
      });
      for (const row of found.rows) ids.set(row.digest, Number(row.id));
      // A stored set's blobs are there (compaction deletes a blob only once no set names it);
      // the members of new sets are checked here, under the lock compaction excludes.
      const fresh = sets.filter((set) => !ids.has(set.digest));
      if (fresh.length > 0) await this.#addSets(client, v.sessionId, fresh, ids);
      const inserted = await client.query<{ version: number }>({
        name: 'orch_put_version',
        text: this.#sql.putVersion,
        values: [
          v.sessionId,
          v.seq,
          v.label,
          v.createdAt,
          v.schemaVersion,
          v.checksum,
          Buffer.from(v.manifest.buffer, v.manifest.byteOffset, v.manifest.byteLength),
          v.workspaceCommit,
          v.newBytes,
          sets.map((set) => ids.get(set.digest)),
        ],
      });
      return Number(inserted.rows[0]?.version);
    });
    return toVersionRecord(v, number);
  }

  /** Stores new reference sets (after checking their blobs) and records their ids in `ids`. */
  async #addSets(client: PoolClient, sessionId: string, fresh: readonly RefSet[], ids: Map<string, number>) {
    const members = fresh.flatMap((set) => set.hashes);
    const missing = await client.query<{ hash: string }>({
      name: 'orch_missing_blobs',
      text: this.#sql.missingBlobs,
      values: [members],
    });
    if (missing.rows.length > 0)
      throw missingBlobs(
        sessionId,
        missing.rows.map((row) => row.hash),
      );
    const created = await client.query<{ id: number; digest: string }>({
      name: 'orch_add_ref_sets',
      text: this.#sql.addSets,
      values: [fresh.map((set) => set.digest)],
    });
    const mine = new Map(created.rows.map((row) => [row.digest, Number(row.id)]));
    const setIds: number[] = [];
    const hashes: string[] = [];
    for (const set of fresh) {
      const id = mine.get(set.digest);
      if (id === undefined) continue;
      ids.set(set.digest, id);
      for (const hash of set.hashes) {
        setIds.push(id);
        hashes.push(hash);
      }
    }
    if (hashes.length > 0) {
      await client.query({ name: 'orch_add_ref_set_blobs', text: this.#sql.addSetMembers, values: [setIds, hashes] });
    }
    // A set another writer created (and committed) meanwhile: use its row.
    const theirs = fresh.filter((set) => !mine.has(set.digest)).map((set) => set.digest);
    if (theirs.length > 0) {
      const rows = await client.query<{ id: number; digest: string }>({
        name: 'orch_find_ref_sets',
        text: this.#sql.findSets,
        values: [theirs],
      });
      for (const row of rows.rows) ids.set(row.digest, Number(row.id));
    }
  }

  async listVersions(sessionId: string): Promise<VersionRecord[]> {
    checkSessionId(sessionId);
    const rows = await queryRows<VersionRow>(this.#access, 'listVersions', {
      name: 'orch_list_versions',
      text: this.#sql.listVersions,
      values: [sessionId],
    });
    return rows.map(fromVersionRow);
  }

  async getVersion(sessionId: string, version: number): Promise<VersionRecord | undefined> {
    checkSessionId(sessionId);
    checkVersionNumber(version);
    const rows = await queryRows<VersionRow>(this.#access, 'getVersion', {
      name: 'orch_get_version',
      text: this.#sql.getVersion,
      values: [sessionId, version],
    });
    return rows[0] === undefined ? undefined : fromVersionRow(rows[0]);
  }

  async deleteVersions(sessionId: string, versions: readonly number[]): Promise<number> {
    checkSessionId(sessionId);
    const numbers = checkVersionNumbers(versions);
    if (numbers.length === 0) return 0;
    try {
      const result = await this.#access.pool.query({
        name: 'orch_delete_versions',
        text: this.#sql.deleteVersions,
        values: [sessionId, numbers],
      });
      return result.rowCount ?? 0;
    } catch (error) {
      throw postgresError(error, this.#access.url, 'deleteVersions');
    }
  }

  async deleteUnreferencedBlobs(): Promise<number> {
    return inTransaction(this.#access, 'deleteUnreferencedBlobs', async (client) => {
      await client.query(this.#sql.excludeVersions);
      await client.query(this.#sql.deleteUnusedSets);
      const result = await client.query(this.#sql.deleteUnreferenced);
      return result.rowCount ?? 0;
    });
  }
}

/** Splits blobs into statements of at most {@link BLOB_BATCH_BYTES} (a larger blob goes alone). */
function batches(blobs: readonly Blob[]): Blob[][] {
  const out: Blob[][] = [];
  let current: Blob[] = [];
  let size = 0;
  for (const blob of blobs) {
    if (current.length > 0 && size + blob.bytes.byteLength > BLOB_BATCH_BYTES) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(blob);
    size += blob.bytes.byteLength;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function statements(schema: string) {
  // One advisory key per schema: stores on other schemas of the database do not contend.
  const lockKey = `hashtext('ai-orchestrator:blobs:' || ${quoteLiteral(schema)})`;
  return {
    putBlobs: `INSERT INTO ${schema}.blobs (hash, bytes) SELECT * FROM unnest($1::text[], $2::bytea[])
      ON CONFLICT (hash) DO NOTHING RETURNING octet_length(bytes) AS size`,
    getBlobs: `SELECT hash, bytes FROM ${schema}.blobs WHERE hash = ANY($1::text[])`,
    shareBlobs: `SELECT pg_advisory_xact_lock_shared(${lockKey})`,
    excludeVersions: `SELECT pg_advisory_xact_lock(${lockKey})`,
    missingBlobs: `SELECT h AS hash FROM unnest($1::text[]) AS h
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.blobs b WHERE b.hash = h)`,
    findSets: `SELECT id, digest FROM ${schema}.ref_sets WHERE digest = ANY($1::text[])`,
    addSets: `INSERT INTO ${schema}.ref_sets (digest) SELECT unnest($1::text[])
      ON CONFLICT (digest) DO NOTHING RETURNING id, digest`,
    addSetMembers: `INSERT INTO ${schema}.ref_set_blobs (ref_set, hash) SELECT * FROM unnest($1::bigint[], $2::text[])`,
    // The counter upsert locks the session's counter row until commit: the numbering point.
    putVersion: `
      WITH n AS (
        INSERT INTO ${schema}.version_counters AS c (session_id, last_version) VALUES ($1::text, 1)
        ON CONFLICT (session_id) DO UPDATE SET last_version = c.last_version + 1
        RETURNING last_version
      ), v AS (
        INSERT INTO ${schema}.versions (${VERSION_COLUMNS})
        SELECT $1::text, n.last_version, $2::bigint, $3::text, $4::text, $5::int, $6::text, $7::bytea, $8::text, $9::bigint
        FROM n
        RETURNING version
      ), r AS (
        INSERT INTO ${schema}.version_ref_sets (session_id, version, ref_set)
        SELECT $1::text, v.version, s FROM v, unnest($10::bigint[]) AS s
      )
      SELECT version FROM v`,
    listVersions: `SELECT ${VERSION_COLUMNS} FROM ${schema}.versions WHERE session_id = $1 ORDER BY version`,
    getVersion: `SELECT ${VERSION_COLUMNS} FROM ${schema}.versions WHERE session_id = $1 AND version = $2`,
    deleteVersions: `DELETE FROM ${schema}.versions WHERE session_id = $1 AND version = ANY($2::int[])`,
    // Members go with their set (ON DELETE CASCADE); then blobs no set names.
    deleteUnusedSets: `DELETE FROM ${schema}.ref_sets s
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.version_ref_sets u WHERE u.ref_set = s.id)`,
    deleteUnreferenced: `DELETE FROM ${schema}.blobs b
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.ref_set_blobs r WHERE r.hash = b.hash)`,
  };
}

/** The quoted schema name (`"name"`) as an SQL string literal. */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

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
  missingLinks,
  plainBytes,
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
 * calls share the lock and do not wait for each other; `putBlobs` takes it too when it stores
 * pages, whose links it checks. A version names its root page (one row); a page names its
 * children in its `links` column, written once with the page, so a version costs what it
 * added. Compaction marks what versions reach and sweeps the rest.
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
    const linked = unique.some((b) => b.links !== undefined);
    // Pages are checked against what they name under the lock compaction excludes; plain blobs
    // need no lock, but one transaction keeps the round trips as before.
    return inTransaction(this.#access, 'putBlobs', async (client) => {
      if (linked) await client.query(this.#sql.shareBlobs);
      // Most blobs of a new version are stored already: ask which are missing (hashes are
      // small) and send only their bytes, which travel as hex text at twice their size. A page
      // stored without its links (an import or an older build stored it) is written again.
      const wanted = new Set(
        (
          await client.query<{ hash: string }>({
            name: 'orch_wanted_blobs',
            text: this.#sql.wantedBlobs,
            values: [unique.map((b) => b.hash), unique.map((b) => b.links !== undefined)],
          })
        ).rows.map((row) => row.hash),
      );
      let added = 0;
      const named = new Set<string>();
      // In hash order: writers putting the same pages take their row locks in one order, so
      // they queue instead of deadlocking.
      const sorted = unique.filter((b) => wanted.has(b.hash)).sort((a, b) => (a.hash < b.hash ? -1 : 1));
      for (const batch of batches(sorted)) {
        const rows = await client.query<{ size: number }>({
          name: 'orch_put_blobs',
          text: this.#sql.putBlobs,
          values: [
            batch.map((b) => b.hash),
            batch.map((b) => Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength)),
            // One text[] per blob does not fit a 2-D array (ragged): links travel as JSON.
            batch.map((b) => (b.links ? JSON.stringify(b.links) : null)),
          ],
        });
        for (const row of rows.rows) added += Number(row.size);
        for (const blob of batch) for (const link of blob.links ?? []) named.add(link);
      }
      // What a page names must be stored (here or before): a version that names the page then
      // has its whole tree, and compaction keeps or drops a page together with what it names.
      // Every blob of this call is stored now, so only links outside it are looked up.
      for (const blob of unique) named.delete(blob.hash);
      if (named.size > 0) {
        const missing = await client.query<{ hash: string }>({
          name: 'orch_missing_blobs',
          text: this.#sql.missingBlobs,
          values: [[...named]],
        });
        if (missing.rows.length > 0) throw missingLinks(missing.rows.map((row) => row.hash));
      }
      return added;
    });
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
    const number = await inTransaction(this.#access, 'putVersion', async (client) => {
      await client.query(this.#sql.shareBlobs);
      // The named blobs are checked under the lock compaction excludes; what they reach
      // through links is there too (putBlobs checked it, compaction keeps it with them).
      if (v.blobHashes.length > 0) {
        const missing = await client.query<{ hash: string }>({
          name: 'orch_missing_blobs',
          text: this.#sql.missingBlobs,
          values: [v.blobHashes],
        });
        if (missing.rows.length > 0)
          throw missingBlobs(
            v.sessionId,
            missing.rows.map((row) => row.hash),
          );
      }
      const inserted = await client.query<{ version: number }>({
        name: 'orch_put_version_roots',
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
          v.blobHashes,
        ],
      });
      return Number(inserted.rows[0]?.version);
    });
    return toVersionRecord(v, number);
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
      // Payload blobs (src/store/payload-store.ts) stay while a session references them.
      const payloads = await client.query(this.#sql.deleteUnreferencedPayloads);
      const result = await client.query(this.#sql.deleteUnreferenced);
      return (result.rowCount ?? 0) + (payloads.rowCount ?? 0);
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

/**
 * The advisory lock over a schema's blobs: shared by writers that reference blobs they found
 * stored (`putVersion`, pages in `putBlobs`, `putPayloads`), exclusive for compaction.
 */
export function blobLocks(schema: string): { share: string; exclude: string } {
  // One advisory key per schema: stores on other schemas of the database do not contend.
  const lockKey = `hashtext('ai-orchestrator:blobs:' || ${quoteLiteral(schema)})`;
  return {
    share: `SELECT pg_advisory_xact_lock_shared(${lockKey})`,
    exclude: `SELECT pg_advisory_xact_lock(${lockKey})`,
  };
}

function statements(schema: string) {
  const locks = blobLocks(schema);
  return {
    // A page stored without links gets them (the size of a blob stored before is not new).
    putBlobs: `INSERT INTO ${schema}.blobs AS b (hash, bytes, links)
      SELECT h, y, CASE WHEN l IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(l::json)) END
      FROM unnest($1::text[], $2::bytea[], $3::text[]) AS u(h, y, l)
      ON CONFLICT (hash) DO UPDATE SET links = excluded.links WHERE b.links IS NULL AND excluded.links IS NOT NULL
      RETURNING CASE WHEN xmax = 0 THEN octet_length(bytes) ELSE 0 END AS size`,
    getBlobs: `SELECT hash, bytes FROM ${schema}.blobs WHERE hash = ANY($1::text[])`,
    shareBlobs: locks.share,
    excludeVersions: locks.exclude,
    // Payload blobs (src/store/postgres-payloads.ts) no session references.
    deleteUnreferencedPayloads: `DELETE FROM ${schema}.payload_blobs b
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.session_payloads r WHERE r.hash = b.hash)`,
    missingBlobs: `SELECT h AS hash FROM unnest($1::text[]) AS h
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.blobs b WHERE b.hash = h)`,
    // $2: whether the blob comes with links (then a copy stored without them is wanted too).
    wantedBlobs: `SELECT h AS hash FROM unnest($1::text[], $2::boolean[]) AS u(h, linked)
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.blobs b WHERE b.hash = h AND (b.links IS NOT NULL OR NOT linked))`,
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
        INSERT INTO ${schema}.version_roots (session_id, version, hash)
        SELECT DISTINCT $1::text, v.version, h FROM v, unnest($10::text[]) AS h
      )
      SELECT version FROM v`,
    listVersions: `SELECT ${VERSION_COLUMNS} FROM ${schema}.versions WHERE session_id = $1 ORDER BY version`,
    getVersion: `SELECT ${VERSION_COLUMNS} FROM ${schema}.versions WHERE session_id = $1 AND version = $2`,
    deleteVersions: `DELETE FROM ${schema}.versions WHERE session_id = $1 AND version = ANY($2::int[])`,
    // Reference sets of versions written before migration 8 that no version uses (members go
    // with their set, ON DELETE CASCADE).
    deleteUnusedSets: `DELETE FROM ${schema}.ref_sets s
      WHERE NOT EXISTS (SELECT 1 FROM ${schema}.version_ref_sets u WHERE u.ref_set = s.id)`,
    // Mark and sweep: what versions name (their roots, or their reference sets) and everything
    // reachable from it through links stays.
    deleteUnreferenced: `WITH RECURSIVE live(hash) AS (
        SELECT hash FROM ${schema}.version_roots
        UNION SELECT hash FROM ${schema}.ref_set_blobs
        UNION SELECT c FROM live JOIN ${schema}.blobs b ON b.hash = live.hash CROSS JOIN unnest(b.links) AS c
      )
      DELETE FROM ${schema}.blobs b WHERE NOT EXISTS (SELECT 1 FROM live WHERE live.hash = b.hash)`,
  };
}

/** The quoted schema name (`"name"`) as an SQL string literal. */
function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

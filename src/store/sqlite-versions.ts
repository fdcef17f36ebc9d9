import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkSessionId, checkVersionNumber } from './arguments.ts';
import { sqliteRead, sqliteWrite, sqliteWriteUnsynced } from './sqlite-errors.ts';
import { SQLITE_DELETE_UNREFERENCED_PAYLOADS } from './sqlite-payloads.ts';
import { prepareStatements } from './sqlite-statements.ts';
import {
  checkBlobs,
  checkHashes,
  checkNewVersion,
  checkVersionNumbers,
  fromVersionRow,
  missingBlobs,
  missingLinks,
  toVersionRecord,
  VERSION_COLUMNS,
  type VersionRow,
} from './version-rows.ts';
import type { Blob, NewVersion, VersionRecord, VersionStore } from './version-store.ts';

/**
 * The {@link VersionStore} half of the SQLite store, on the store's own connection.
 *
 * Every write runs in `BEGIN IMMEDIATE`, which takes the file's single write lock: version
 * numbers come from a counter row read and moved inside that lock, so writers in other
 * processes cannot get the same number, and a compaction cannot interleave with a
 * `putVersion` between its check that the blobs exist and its references to them. A version
 * names its root page (one row); a page names its children in its `links` column, written once
 * with the page, so a version costs what it added. Compaction marks what versions reach and
 * sweeps the rest. Lists of
 * hashes and numbers travel as one JSON parameter (`json_each`), so each statement is
 * prepared once whatever the list's length.
 */
export class SqliteVersions implements VersionStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;
  /** Whether the connection commits with an fsync (`synchronous = FULL`), which blob writes skip. */
  readonly #full: boolean;

  /** `full`: the connection runs `synchronous = FULL` (blob writes commit without its fsync, see sqliteWriteUnsynced). */
  constructor(db: DatabaseSync, path: string, full: boolean) {
    this.#db = db;
    this.#path = path;
    this.#full = full;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async putBlobs(blobs: readonly Blob[]): Promise<number> {
    const unique = checkBlobs(blobs);
    if (unique.length === 0) return 0;
    // No fsync of its own: blobs count once a version names them, and the version's FULL commit
    // takes them to the disk with it (see sqliteWriteUnsynced).
    return sqliteWriteUnsynced(this.#db, this.#full, this.#path, 'putBlobs', () => {
      // Most blobs of a new version are stored already: one statement finds the few that are
      // not, instead of one insert attempt per blob. A page is also written again when it is
      // stored without its links (an import or an older build stored it).
      const plain = unique.filter((b) => !b.links).map((b) => b.hash);
      const linked = unique.filter((b) => b.links).map((b) => b.hash);
      const missing = new Set(
        plain.length === 0
          ? []
          : (this.#sql.missingHashes.all(JSON.stringify(plain)) as Array<{ hash: string }>).map((row) => row.hash),
      );
      const unlinked = new Map(
        linked.length === 0
          ? []
          : (this.#sql.unlinkedHashes.all(JSON.stringify(linked)) as Array<{ hash: string; present: number }>).map(
              (row) => [row.hash, row.present === 1],
            ),
      );
      let added = 0;
      const named = new Set<string>();
      for (const blob of unique) {
        if (blob.links) {
          const present = unlinked.get(blob.hash);
          if (present === undefined) continue;
          for (const link of blob.links) named.add(link);
          if (present) this.#sql.addLinks.run(JSON.stringify(blob.links), blob.hash);
          else if (this.#sql.insertLinked.run(blob.hash, blob.bytes, JSON.stringify(blob.links)).changes > 0)
            added += blob.bytes.byteLength;
        } else if (missing.has(blob.hash) && this.#sql.insertBlob.run(blob.hash, blob.bytes).changes > 0) {
          added += blob.bytes.byteLength;
        }
      }
      // What a page names must be stored (here or before): a version that names the page then
      // has its whole tree, and compaction keeps or drops a page together with what it names.
      // Every blob of this call is stored now, so only links outside it are looked up.
      for (const blob of unique) named.delete(blob.hash);
      if (named.size > 0) {
        const hashes = JSON.stringify([...named]);
        if ((this.#sql.countBlobs.get(hashes) as { n: number }).n !== named.size) {
          const found = new Set((this.#sql.getHashes.all(hashes) as Array<{ hash: string }>).map((row) => row.hash));
          throw missingLinks([...named].filter((h) => !found.has(h)));
        }
      }
      return added;
    });
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, Uint8Array>> {
    const unique = checkHashes(hashes);
    const found = new Map<string, Uint8Array>();
    if (unique.length === 0) return found;
    const rows = this.#read('getBlobs', () => this.#sql.getBlobs.all(JSON.stringify(unique)));
    for (const row of rows as Array<{ hash: string; bytes: Uint8Array }>) found.set(row.hash, row.bytes);
    return found;
  }

  async putVersion(version: NewVersion): Promise<VersionRecord> {
    const checked = checkNewVersion(version);
    return this.#write('putVersion', () => {
      // The named blobs are checked under the write lock compaction also needs; what they reach
      // through links is there too (putBlobs checked it, compaction keeps it with them).
      const hashes = JSON.stringify(checked.blobHashes);
      if ((this.#sql.countBlobs.get(hashes) as { n: number }).n !== checked.blobHashes.length) {
        const found = new Set((this.#sql.getHashes.all(hashes) as Array<{ hash: string }>).map((row) => row.hash));
        throw missingBlobs(
          checked.sessionId,
          checked.blobHashes.filter((h) => !found.has(h)),
        );
      }
      const { last_version: number } = this.#sql.nextVersion.get(checked.sessionId) as { last_version: number };
      this.#sql.insertVersion.run(
        checked.sessionId,
        number,
        checked.seq,
        checked.label,
        checked.createdAt,
        checked.schemaVersion,
        checked.checksum,
        checked.manifest,
        checked.workspaceCommit,
        checked.newBytes,
      );
      this.#sql.insertRoots.run(checked.sessionId, number, hashes);
      return toVersionRecord(checked, number);
    });
  }

  async listVersions(sessionId: string): Promise<VersionRecord[]> {
    checkSessionId(sessionId);
    const rows = this.#read('listVersions', () => this.#sql.listVersions.all(sessionId));
    return (rows as unknown as VersionRow[]).map(fromVersionRow);
  }

  async getVersion(sessionId: string, version: number): Promise<VersionRecord | undefined> {
    checkSessionId(sessionId);
    checkVersionNumber(version);
    const row = this.#read('getVersion', () => this.#sql.getVersion.get(sessionId, version));
    return row === undefined ? undefined : fromVersionRow(row as unknown as VersionRow);
  }

  async deleteVersions(sessionId: string, versions: readonly number[]): Promise<number> {
    checkSessionId(sessionId);
    const numbers = JSON.stringify(checkVersionNumbers(versions));
    return this.#write('deleteVersions', () => {
      this.#sql.deleteUses.run(sessionId, numbers);
      this.#sql.deleteRoots.run(sessionId, numbers);
      return Number(this.#sql.deleteVersions.run(sessionId, numbers).changes);
    });
  }

  async deleteUnreferencedBlobs(): Promise<number> {
    return this.#write('deleteUnreferencedBlobs', () => {
      this.#sql.deleteUnusedSetMembers.run();
      this.#sql.deleteUnusedSets.run();
      // Payload blobs (src/store/payload-store.ts) stay while a session references them.
      const payloads = Number(this.#sql.deleteUnreferencedPayloads.run().changes);
      return Number(this.#sql.deleteUnreferenced.run().changes) + payloads;
    });
  }

  #read<T>(operation: string, work: () => T): T {
    return sqliteRead(this.#path, operation, work);
  }

  #write<T>(operation: string, work: () => T): T {
    return sqliteWrite(this.#db, this.#path, operation, work);
  }
}

const STATEMENTS = {
  insertBlob: 'INSERT INTO blobs (hash, bytes) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING',
  insertLinked: 'INSERT INTO blobs (hash, bytes, links) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING',
  addLinks: 'UPDATE blobs SET links = ? WHERE hash = ? AND links IS NULL',
  unlinkedHashes: `SELECT j.value AS hash, b.hash IS NOT NULL AS present
    FROM json_each(?) j LEFT JOIN blobs b ON b.hash = j.value WHERE b.links IS NULL`,
  getBlobs: 'SELECT hash, bytes FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  getHashes: 'SELECT hash FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  missingHashes: 'SELECT value AS hash FROM json_each(?) WHERE value NOT IN (SELECT hash FROM blobs)',
  countBlobs: 'SELECT count(*) AS n FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  nextVersion: `INSERT INTO version_counters (session_id, last_version) VALUES (?, 1)
    ON CONFLICT (session_id) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
  insertVersion: `INSERT INTO versions (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertRoots: 'INSERT INTO version_roots (session_id, version, hash) SELECT ?1, ?2, value FROM json_each(?3)',
  listVersions: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? ORDER BY version`,
  getVersion: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? AND version = ?`,
  deleteUses: 'DELETE FROM version_ref_sets WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteRoots: 'DELETE FROM version_roots WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteVersions: 'DELETE FROM versions WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteUnusedSetMembers: `DELETE FROM ref_set_blobs WHERE ref_set IN
    (SELECT id FROM ref_sets s WHERE NOT EXISTS (SELECT 1 FROM version_ref_sets u WHERE u.ref_set = s.id))`,
  deleteUnusedSets: `DELETE FROM ref_sets WHERE NOT EXISTS (SELECT 1 FROM version_ref_sets u WHERE u.ref_set = ref_sets.id)`,
  // Mark and sweep: what versions name (their roots, or the reference sets of versions written
  // before migration 8) and everything reachable from it through links stays.
  deleteUnreferenced: `WITH RECURSIVE live(hash) AS (
      SELECT hash FROM version_roots
      UNION SELECT hash FROM ref_set_blobs
      UNION SELECT j.value FROM live JOIN blobs b ON b.hash = live.hash JOIN json_each(b.links) j
    )
    DELETE FROM blobs WHERE hash NOT IN (SELECT hash FROM live)`,
  deleteUnreferencedPayloads: SQLITE_DELETE_UNREFERENCED_PAYLOADS,
} as const;

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkSessionId, checkVersionNumber } from './arguments.ts';
import { sqliteError } from './sqlite-errors.ts';
import {
  checkBlobs,
  checkHashes,
  checkNewVersion,
  checkVersionNumbers,
  fromVersionRow,
  missingBlobs,
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
 * `putVersion` between its check that the blobs exist and its references to them. Lists of
 * hashes and numbers travel as one JSON parameter (`json_each`), so each statement is
 * prepared once whatever the list's length.
 */
export class SqliteVersions implements VersionStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = Object.fromEntries(
      Object.entries(STATEMENTS).map(([name, text]) => [name, db.prepare(text)]),
    ) as Record<keyof typeof STATEMENTS, StatementSync>;
  }

  async putBlobs(blobs: readonly Blob[]): Promise<number> {
    const unique = checkBlobs(blobs);
    if (unique.length === 0) return 0;
    return this.#write('putBlobs', () => {
      let added = 0;
      for (const blob of unique) {
        if (this.#sql.insertBlob.run(blob.hash, blob.bytes).changes > 0) added += blob.bytes.byteLength;
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
    const hashes = JSON.stringify(checked.blobHashes);
    return this.#write('putVersion', () => {
      const present = (this.#sql.countBlobs.get(hashes) as { n: number }).n;
      if (present !== checked.blobHashes.length) {
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
      this.#sql.insertRefs.run(checked.sessionId, number, hashes);
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
      this.#sql.deleteRefs.run(sessionId, numbers);
      return Number(this.#sql.deleteVersions.run(sessionId, numbers).changes);
    });
  }

  async deleteUnreferencedBlobs(): Promise<number> {
    return this.#write('deleteUnreferencedBlobs', () => Number(this.#sql.deleteUnreferenced.run().changes));
  }

  #read<T>(operation: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw sqliteError(error, this.#path, operation);
    }
  }

  /** Runs `work` in one `BEGIN IMMEDIATE` transaction; node:sqlite is synchronous, so nothing else interleaves. */
  #write<T>(operation: string, work: () => T): T {
    const db = this.#db;
    try {
      db.exec('BEGIN IMMEDIATE');
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw sqliteError(error, this.#path, operation);
    }
  }
}

const STATEMENTS = {
  insertBlob: 'INSERT INTO blobs (hash, bytes) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING',
  getBlobs: 'SELECT hash, bytes FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  getHashes: 'SELECT hash FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  countBlobs: 'SELECT count(*) AS n FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  nextVersion: `INSERT INTO version_counters (session_id, last_version) VALUES (?, 1)
    ON CONFLICT (session_id) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
  insertVersion: `INSERT INTO versions (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertRefs: 'INSERT INTO version_blobs (session_id, version, hash) SELECT ?1, ?2, value FROM json_each(?3)',
  listVersions: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? ORDER BY version`,
  getVersion: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? AND version = ?`,
  deleteRefs: 'DELETE FROM version_blobs WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteVersions: 'DELETE FROM versions WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteUnreferenced: `DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM version_blobs r WHERE r.hash = blobs.hash)`,
} as const;

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkSessionId, checkVersionNumber } from './arguments.ts';
import { sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import {
  checkBlobs,
  checkHashes,
  checkNewVersion,
  checkVersionNumbers,
  fromVersionRow,
  missingBlobs,
  refSets,
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
 * refers to blobs through shared reference sets (`refSets`): it writes only the sets it does
 * not share with a stored version, plus one row per set it uses. Lists of
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
      // Most blobs of a new version are stored already: one statement finds the few that are
      // not, instead of one insert attempt per blob.
      const missing = new Set(
        (this.#sql.missingHashes.all(JSON.stringify(unique.map((b) => b.hash))) as Array<{ hash: string }>).map(
          (row) => row.hash,
        ),
      );
      let added = 0;
      for (const blob of unique) {
        if (!missing.has(blob.hash)) continue;
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
    const sets = refSets(checked.blobHashes);
    return this.#write('putVersion', () => {
      const known = new Map(
        (
          this.#sql.findSets.all(JSON.stringify(sets.map((set) => set.digest))) as Array<{ id: number; digest: string }>
        ).map((row) => [row.digest, row.id]),
      );
      const fresh = sets.filter((set) => !known.has(set.digest));
      // A stored set's blobs are there (compaction deletes a blob only once no set names it);
      // the members of new sets are checked here, under the write lock compaction also needs.
      const members = fresh.flatMap((set) => set.hashes);
      const hashes = JSON.stringify(members);
      if ((this.#sql.countBlobs.get(hashes) as { n: number }).n !== members.length) {
        const found = new Set((this.#sql.getHashes.all(hashes) as Array<{ hash: string }>).map((row) => row.hash));
        throw missingBlobs(
          checked.sessionId,
          members.filter((h) => !found.has(h)),
        );
      }
      for (const set of fresh) {
        const { id } = this.#sql.insertSet.get(set.digest) as { id: number };
        this.#sql.insertSetMembers.run(id, JSON.stringify(set.hashes));
        known.set(set.digest, id);
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
      this.#sql.useSets.run(checked.sessionId, number, JSON.stringify(sets.map((set) => known.get(set.digest))));
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
      return Number(this.#sql.deleteVersions.run(sessionId, numbers).changes);
    });
  }

  async deleteUnreferencedBlobs(): Promise<number> {
    return this.#write('deleteUnreferencedBlobs', () => {
      this.#sql.deleteUnusedSetMembers.run();
      this.#sql.deleteUnusedSets.run();
      return Number(this.#sql.deleteUnreferenced.run().changes);
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
  getBlobs: 'SELECT hash, bytes FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  getHashes: 'SELECT hash FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  missingHashes: 'SELECT value AS hash FROM json_each(?) WHERE value NOT IN (SELECT hash FROM blobs)',
  countBlobs: 'SELECT count(*) AS n FROM blobs WHERE hash IN (SELECT value FROM json_each(?))',
  nextVersion: `INSERT INTO version_counters (session_id, last_version) VALUES (?, 1)
    ON CONFLICT (session_id) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
  insertVersion: `INSERT INTO versions (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  findSets: 'SELECT id, digest FROM ref_sets WHERE digest IN (SELECT value FROM json_each(?))',
  insertSet: 'INSERT INTO ref_sets (digest) VALUES (?) RETURNING id',
  insertSetMembers: 'INSERT INTO ref_set_blobs (ref_set, hash) SELECT ?, value FROM json_each(?)',
  useSets: 'INSERT INTO version_ref_sets (session_id, version, ref_set) SELECT ?1, ?2, value FROM json_each(?3)',
  listVersions: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? ORDER BY version`,
  getVersion: `SELECT ${VERSION_COLUMNS} FROM versions WHERE session_id = ? AND version = ?`,
  deleteUses: 'DELETE FROM version_ref_sets WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteVersions: 'DELETE FROM versions WHERE session_id = ? AND version IN (SELECT value FROM json_each(?))',
  deleteUnusedSetMembers: `DELETE FROM ref_set_blobs WHERE ref_set IN
    (SELECT id FROM ref_sets s WHERE NOT EXISTS (SELECT 1 FROM version_ref_sets u WHERE u.ref_set = s.id))`,
  deleteUnusedSets: `DELETE FROM ref_sets WHERE NOT EXISTS (SELECT 1 FROM version_ref_sets u WHERE u.ref_set = ref_sets.id)`,
  deleteUnreferenced: `DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM ref_set_blobs r WHERE r.hash = blobs.hash)`,
} as const;

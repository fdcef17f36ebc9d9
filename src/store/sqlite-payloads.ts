import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkHash, checkSessionId } from './arguments.ts';
import { checkPayloads } from './payload-rows.ts';
import type { PayloadBlob, PayloadStore } from './payload-store.ts';
import { sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import { prepareStatements } from './sqlite-statements.ts';
import { plainBytes } from './version-rows.ts';

/**
 * The {@link PayloadStore} of the SQLite store, on the store's own connection. A blob and the
 * session's reference are written in one `BEGIN IMMEDIATE` transaction, the lock compaction
 * also takes, so compaction never sees a blob whose reference is still to come.
 */
export class SqlitePayloads implements PayloadStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async putPayloads(sessionId: string, payloads: readonly PayloadBlob[]): Promise<number> {
    checkSessionId(sessionId);
    const unique = checkPayloads(payloads);
    if (unique.length === 0) return 0;
    return sqliteWrite(
      this.#db,
      this.#path,
      'putPayloads',
      () => {
        let added = 0;
        for (const { hash, bytes } of unique) {
          if (this.#sql.insertBlob.run(hash, bytes).changes > 0) added += bytes.byteLength;
          this.#sql.insertRef.run(sessionId, hash);
        }
        return added;
      },
      sessionId,
    );
  }

  async getPayload(sessionId: string, hash: string): Promise<Uint8Array | undefined> {
    checkSessionId(sessionId);
    checkHash(hash, 'hash');
    const row = sqliteRead(this.#path, 'getPayload', () => this.#sql.get.get(sessionId, hash)) as
      | { bytes: Uint8Array }
      | undefined;
    return row === undefined ? undefined : plainBytes(row.bytes);
  }

  async listPayloads(sessionId: string): Promise<string[]> {
    checkSessionId(sessionId);
    const rows = sqliteRead(this.#path, 'listPayloads', () => this.#sql.list.all(sessionId));
    return (rows as Array<{ hash: string }>).map((row) => row.hash);
  }

  /** Drops the session's references; runs inside the caller's write transaction (deleteSession). */
  deleteRefs(sessionId: string): void {
    this.#sql.deleteRefs.run(sessionId);
  }
}

const STATEMENTS = {
  insertBlob: 'INSERT INTO payload_blobs (hash, bytes) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING',
  insertRef: 'INSERT INTO session_payloads (session_id, hash) VALUES (?, ?) ON CONFLICT DO NOTHING',
  get: `SELECT b.bytes FROM session_payloads r JOIN payload_blobs b ON b.hash = r.hash
    WHERE r.session_id = ? AND r.hash = ?`,
  list: 'SELECT hash FROM session_payloads WHERE session_id = ? ORDER BY hash',
  deleteRefs: 'DELETE FROM session_payloads WHERE session_id = ?',
} as const;

/** Compaction's sweep of payload blobs no session references (run by the version store's). */
export const SQLITE_DELETE_UNREFERENCED_PAYLOADS = `DELETE FROM payload_blobs
  WHERE NOT EXISTS (SELECT 1 FROM session_payloads r WHERE r.hash = payload_blobs.hash)`;

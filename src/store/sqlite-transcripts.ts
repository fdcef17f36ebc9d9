import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { checkProjectKey, checkSessionIds, checkTranscriptKey } from './arguments.ts';
import { sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import { prepareStatements } from './sqlite-statements.ts';
import { decodeEntry, encodeEntries } from './transcript-rows.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from './transcript-store.ts';

/**
 * The {@link TranscriptStore} half of the SQLite store, on the store's own connection. An
 * append is one `BEGIN IMMEDIATE` transaction (the file's write lock), so entries of concurrent
 * appends from several processes never interleave within a batch, and each process's appends
 * keep their call order (node:sqlite runs them synchronously, one after the other).
 */
export class SqliteTranscripts implements TranscriptStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async appendTranscript(key: TranscriptKey, entries: readonly TranscriptEntry[]): Promise<void> {
    const k = checkTranscriptKey(key);
    const encoded = encodeEntries(entries);
    if (encoded.length === 0) return;
    this.#write('appendTranscript', () => {
      const { id } = this.#sql.touch.get(k.projectKey, k.sessionId, k.subpath, Date.now()) as { id: number };
      for (const entry of encoded) this.#sql.insertEntry.run(id, entry.uuid, entry.text);
    });
  }

  async loadTranscript(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    const k = checkTranscriptKey(key);
    const rows = this.#read('loadTranscript', () => this.#sql.load.all(k.projectKey, k.sessionId, k.subpath));
    // A transcript row exists only with at least one entry: no rows means never written.
    return rows.length === 0 ? null : rows.map((row) => decodeEntry((row as { entry: string }).entry, k));
  }

  async listTranscriptSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    checkProjectKey(projectKey);
    const rows = this.#read('listTranscriptSessions', () => this.#sql.listSessions.all(projectKey));
    return rows.map((row) => {
      const r = row as { session_id: string; mtime: number };
      return { sessionId: r.session_id, mtime: Number(r.mtime) };
    });
  }

  async deleteTranscript(key: TranscriptKey): Promise<void> {
    const k = checkTranscriptKey(key);
    this.#write('deleteTranscript', () => {
      if (k.subpath === '') {
        this.#sql.deleteSessionEntries.run(k.projectKey, k.sessionId);
        this.#sql.deleteSession.run(k.projectKey, k.sessionId);
      } else {
        this.#sql.deleteSubpathEntries.run(k.projectKey, k.sessionId, k.subpath);
        this.#sql.deleteSubpath.run(k.projectKey, k.sessionId, k.subpath);
      }
    });
  }

  async deleteTranscriptSessions(sessionIds: readonly string[]): Promise<number> {
    const ids = checkSessionIds(sessionIds, 'sessionIds');
    if (ids.length === 0) return 0;
    const list = JSON.stringify(ids);
    return this.#write('deleteTranscriptSessions', () => {
      this.#sql.deleteEntriesOfSessions.run(list);
      return Number(this.#sql.deleteSessions.run(list).changes);
    });
  }

  async listTranscriptSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    const k = checkTranscriptKey(key, false);
    const rows = this.#read('listTranscriptSubkeys', () => this.#sql.listSubkeys.all(k.projectKey, k.sessionId));
    return rows.map((row) => (row as { subpath: string }).subpath);
  }

  #read<T>(operation: string, work: () => T): T {
    return sqliteRead(this.#path, operation, work);
  }

  #write<T>(operation: string, work: () => T): T {
    return sqliteWrite(this.#db, this.#path, operation, work);
  }
}

const KEY = 'project_key = ? AND session_id = ?';
const STATEMENTS = {
  // mtime never goes back, even if the clock does.
  touch: `INSERT INTO transcripts (project_key, session_id, subpath, mtime) VALUES (?, ?, ?, ?)
    ON CONFLICT (project_key, session_id, subpath) DO UPDATE SET mtime = max(mtime, excluded.mtime) RETURNING id`,
  insertEntry: 'INSERT INTO transcript_entries (transcript_id, uuid, entry) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  load: `SELECT e.entry FROM transcripts t JOIN transcript_entries e ON e.transcript_id = t.id
    WHERE t.project_key = ? AND t.session_id = ? AND t.subpath = ? ORDER BY e.id`,
  listSessions: `SELECT session_id, mtime FROM transcripts WHERE project_key = ? AND subpath = ''
    ORDER BY mtime DESC, session_id`,
  listSubkeys: `SELECT subpath FROM transcripts WHERE ${KEY} AND subpath <> '' ORDER BY subpath`,
  deleteSessionEntries: `DELETE FROM transcript_entries WHERE transcript_id IN (SELECT id FROM transcripts WHERE ${KEY})`,
  deleteSession: `DELETE FROM transcripts WHERE ${KEY}`,
  deleteSubpathEntries: `DELETE FROM transcript_entries
    WHERE transcript_id IN (SELECT id FROM transcripts WHERE ${KEY} AND subpath = ?)`,
  deleteSubpath: `DELETE FROM transcripts WHERE ${KEY} AND subpath = ?`,
  // By session id alone: one row per transcript key, so this scans keys, never entries.
  deleteEntriesOfSessions: `DELETE FROM transcript_entries WHERE transcript_id IN
    (SELECT id FROM transcripts WHERE session_id IN (SELECT value FROM json_each(?)))`,
  deleteSessions: 'DELETE FROM transcripts WHERE session_id IN (SELECT value FROM json_each(?))',
} as const;

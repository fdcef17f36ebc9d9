import { checkProjectKey, checkSessionIds, checkTranscriptKey } from './arguments.ts';
import { type PostgresAccess, queryRows } from './postgres-pool.ts';
import { decodeEntry, encodeEntries } from './transcript-rows.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from './transcript-store.ts';

/**
 * The {@link TranscriptStore} half of the PostgreSQL store, on the store's shared pool.
 *
 * An append is one statement: the upsert of the transcript row (which locks it until commit,
 * so concurrent appends to one key from several machines commit one after the other) and the
 * insert of the entries in order. Appends of one key from this process are chained, so they
 * commit in call order even though the pool could run them on different connections at once.
 */
export class PostgresTranscripts implements TranscriptStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;
  /** The last append of each key still running, for call-order chaining. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async appendTranscript(key: TranscriptKey, entries: readonly TranscriptEntry[]): Promise<void> {
    const k = checkTranscriptKey(key);
    const encoded = encodeEntries(entries);
    if (encoded.length === 0) return;
    const chainKey = JSON.stringify([k.projectKey, k.sessionId, k.subpath]);
    const previous = this.#tails.get(chainKey);
    const run = async () => {
      await queryRows(this.#access, 'appendTranscript', {
        name: 'orch_append_transcript',
        text: this.#sql.append,
        values: [
          k.projectKey,
          k.sessionId,
          k.subpath,
          Date.now(),
          encoded.map((e) => e.uuid),
          encoded.map((e) => e.text),
        ],
      });
    };
    // A failed earlier append does not stop this one (the SDK retries batches on its own).
    const current = previous ? previous.then(run, run) : run();
    this.#tails.set(chainKey, current);
    try {
      await current;
    } finally {
      if (this.#tails.get(chainKey) === current) this.#tails.delete(chainKey);
    }
  }

  async loadTranscript(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    const k = checkTranscriptKey(key);
    const rows = await queryRows<{ entry: string }>(this.#access, 'loadTranscript', {
      name: 'orch_load_transcript',
      text: this.#sql.load,
      values: [k.projectKey, k.sessionId, k.subpath],
    });
    // A transcript row exists only with at least one entry: no rows means never written.
    return rows.length === 0 ? null : rows.map((row) => decodeEntry(row.entry, k));
  }

  async listTranscriptSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    checkProjectKey(projectKey);
    const rows = await queryRows<{ session_id: string; mtime: number }>(this.#access, 'listTranscriptSessions', {
      name: 'orch_list_transcript_sessions',
      text: this.#sql.listSessions,
      values: [projectKey],
    });
    return rows.map((row) => ({ sessionId: row.session_id, mtime: Number(row.mtime) }));
  }

  async deleteTranscript(key: TranscriptKey): Promise<void> {
    const k = checkTranscriptKey(key);
    // Entries go with their transcript row (ON DELETE CASCADE).
    await queryRows(
      this.#access,
      'deleteTranscript',
      k.subpath === ''
        ? { name: 'orch_delete_transcripts', text: this.#sql.deleteSession, values: [k.projectKey, k.sessionId] }
        : {
            name: 'orch_delete_transcript',
            text: this.#sql.deleteSubpath,
            values: [k.projectKey, k.sessionId, k.subpath],
          },
    );
  }

  async deleteTranscriptSessions(sessionIds: readonly string[]): Promise<number> {
    const ids = checkSessionIds(sessionIds, 'sessionIds');
    if (ids.length === 0) return 0;
    // Entries go with their transcript rows (ON DELETE CASCADE).
    const rows = await queryRows<{ id: number }>(this.#access, 'deleteTranscriptSessions', {
      name: 'orch_delete_transcript_sessions',
      text: this.#sql.deleteSessions,
      values: [ids],
    });
    return rows.length;
  }

  async listTranscriptSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    const k = checkTranscriptKey(key, false);
    const rows = await queryRows<{ subpath: string }>(this.#access, 'listTranscriptSubkeys', {
      name: 'orch_list_transcript_subkeys',
      text: this.#sql.listSubkeys,
      values: [k.projectKey, k.sessionId],
    });
    return rows.map((row) => row.subpath);
  }
}

function statements(schema: string) {
  const transcripts = `${schema}.transcripts`;
  return {
    // mtime never goes back, even if the clock does. Identity values follow the ORDER BY of
    // the inserted rows, so entries keep their order within the batch.
    append: `
      WITH t AS (
        INSERT INTO ${transcripts} AS t (project_key, session_id, subpath, mtime) VALUES ($1, $2, $3, $4)
        ON CONFLICT (project_key, session_id, subpath) DO UPDATE SET mtime = greatest(t.mtime, excluded.mtime)
        RETURNING id
      )
      INSERT INTO ${schema}.transcript_entries (transcript_id, uuid, entry)
      SELECT t.id, e.uuid, e.entry FROM t, unnest($5::text[], $6::text[]) WITH ORDINALITY AS e(uuid, entry, n)
      ORDER BY e.n
      ON CONFLICT DO NOTHING`,
    load: `SELECT e.entry FROM ${transcripts} t JOIN ${schema}.transcript_entries e ON e.transcript_id = t.id
      WHERE t.project_key = $1 AND t.session_id = $2 AND t.subpath = $3 ORDER BY e.id`,
    listSessions: `SELECT session_id, mtime FROM ${transcripts} WHERE project_key = $1 AND subpath = ''
      ORDER BY mtime DESC, session_id`,
    listSubkeys: `SELECT subpath FROM ${transcripts}
      WHERE project_key = $1 AND session_id = $2 AND subpath <> '' ORDER BY subpath COLLATE "C"`,
    deleteSession: `DELETE FROM ${transcripts} WHERE project_key = $1 AND session_id = $2`,
    deleteSubpath: `DELETE FROM ${transcripts} WHERE project_key = $1 AND session_id = $2 AND subpath = $3`,
    deleteSessions: `DELETE FROM ${transcripts} WHERE session_id = ANY($1::text[]) RETURNING id`,
  };
}

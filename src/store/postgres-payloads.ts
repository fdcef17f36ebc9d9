import type pg from 'pg';
import { checkHash, checkSessionId } from './arguments.ts';
import { checkPayloads } from './payload-rows.ts';
import type { PayloadBlob, PayloadStore } from './payload-store.ts';
import { inTransaction, type PostgresAccess, queryRows } from './postgres-pool.ts';
import { blobLocks } from './postgres-versions.ts';
import { plainBytes } from './version-rows.ts';

/**
 * The {@link PayloadStore} of the PostgreSQL store, on the store's shared pool. A blob and the
 * session's reference are written in one transaction holding the blob lock shared (compaction
 * holds it exclusively, see {@link blobLocks}): a compaction cannot delete a blob that was
 * present, unreferenced, when `putPayloads` found it, before the new reference commits.
 */
export class PostgresPayloads implements PayloadStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async putPayloads(sessionId: string, payloads: readonly PayloadBlob[]): Promise<number> {
    checkSessionId(sessionId);
    const unique = checkPayloads(payloads);
    if (unique.length === 0) return 0;
    return inTransaction(this.#access, 'putPayloads', async (client) => {
      await client.query(this.#sql.share);
      let added = 0;
      // One statement per blob: each can be megabytes (sent as hex text, twice the size).
      for (const { hash, bytes } of unique) {
        const result = await client.query({
          name: 'orch_put_payload',
          text: this.#sql.put,
          values: [sessionId, hash, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)],
        });
        added += Number((result.rows[0] as { added: number | string }).added);
      }
      return added;
    });
  }

  async getPayload(sessionId: string, hash: string): Promise<Uint8Array | undefined> {
    checkSessionId(sessionId);
    checkHash(hash, 'hash');
    const rows = await queryRows<{ bytes: Buffer }>(this.#access, 'getPayload', {
      name: 'orch_get_payload',
      text: this.#sql.get,
      values: [sessionId, hash],
    });
    return rows[0] === undefined ? undefined : plainBytes(rows[0].bytes);
  }

  async listPayloads(sessionId: string): Promise<string[]> {
    checkSessionId(sessionId);
    const rows = await queryRows<{ hash: string }>(this.#access, 'listPayloads', {
      name: 'orch_list_payloads',
      text: this.#sql.list,
      values: [sessionId],
    });
    return rows.map((row) => row.hash);
  }

  /** Drops the session's references, in the caller's transaction (deleteSession). */
  async deleteRefs(client: pg.PoolClient, sessionId: string): Promise<void> {
    await client.query({ name: 'orch_delete_payload_refs', text: this.#sql.deleteRefs, values: [sessionId] });
  }
}

function statements(schema: string) {
  return {
    share: blobLocks(schema).share,
    // The blob if new (its size is what was added), then the reference.
    put: `WITH b AS (
        INSERT INTO ${schema}.payload_blobs (hash, bytes) VALUES ($2::text, $3::bytea)
        ON CONFLICT (hash) DO NOTHING RETURNING octet_length(bytes) AS size
      ), r AS (
        INSERT INTO ${schema}.session_payloads (session_id, hash) VALUES ($1::text, $2::text) ON CONFLICT DO NOTHING
      )
      SELECT coalesce((SELECT size FROM b), 0) AS added`,
    get: `SELECT b.bytes FROM ${schema}.session_payloads r JOIN ${schema}.payload_blobs b ON b.hash = r.hash
      WHERE r.session_id = $1 AND r.hash = $2`,
    list: `SELECT hash FROM ${schema}.session_payloads WHERE session_id = $1 ORDER BY hash COLLATE "C"`,
    deleteRefs: `DELETE FROM ${schema}.session_payloads WHERE session_id = $1`,
  };
}

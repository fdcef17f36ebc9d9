import type pg from 'pg';
import { checkSessionId } from './arguments.ts';
import {
  checkAcquireOptions,
  checkLease,
  checkLeaseOwner,
  checkTtl,
  decideAcquire,
  LEASE_COLUMNS,
  type LeaseRow,
  leaseLost,
} from './lease-rows.ts';
import type { AcquiredLease, AcquireLeaseOptions, Lease, LeaseOwner, LeaseStore } from './lease-store.ts';
import { inTransaction, type PostgresAccess, queryRows } from './postgres-pool.ts';

function statements(schema: string) {
  const leases = `${schema}.session_leases`;
  const until = `now() + $3::float8 * interval '1 millisecond'`;
  return {
    // Locks the session's row, creating a released placeholder (token 0) when there is none, so
    // concurrent acquisitions queue here and each decides over the committed state.
    lock: `INSERT INTO ${leases} AS l (${LEASE_COLUMNS})
      VALUES ($1, 0, '', '', 0, now(), now(), true)
      ON CONFLICT (session_id) DO UPDATE SET token = l.token
      RETURNING ${LEASE_COLUMNS}, expires_at > now() AS live`,
    take: `UPDATE ${leases} SET token = $2, expires_at = ${until}, owner_id = $4, host = $5, pid = $6,
      acquired_at = now(), released = false WHERE session_id = $1 RETURNING ${LEASE_COLUMNS}`,
    renew: `UPDATE ${leases} SET expires_at = ${until}
      WHERE session_id = $1 AND token = $2 AND NOT released RETURNING ${LEASE_COLUMNS}`,
    release: `UPDATE ${leases} SET released = true WHERE session_id = $1 AND token = $2 AND NOT released`,
    get: `SELECT ${LEASE_COLUMNS} FROM ${leases} WHERE session_id = $1`,
    // FOR SHARE: an acquisition's row lock waits for the append holding this, and this waits for
    // an acquisition in progress and then reads what it committed; fenced appends share it.
    heldTokens: `SELECT session_id, token, released FROM ${leases}
      WHERE session_id = ANY($1::text[]) ORDER BY session_id FOR SHARE`,
    delete: `DELETE FROM ${leases} WHERE session_id = $1`,
  };
}

interface Row {
  session_id: string;
  token: number;
  owner_id: string;
  host: string;
  pid: number;
  acquired_at: Date;
  expires_at: Date;
  released: boolean;
}

/**
 * The {@link LeaseStore} half of the PostgreSQL store, on the store's shared pool. An
 * acquisition locks the session's lease row (creating it when missing) and decides in one
 * transaction, so concurrent acquirers (connections, processes, machines) queue and exactly one
 * wins. Appends of the writer connection read the fenced sessions' rows `FOR SHARE` inside
 * their own transaction ({@link PostgresLeases.heldTokens}): a takeover commits strictly before
 * such an append (which then sees the new token) or after it, never between its check and its
 * commit. Expiry is PostgreSQL's `now()`, the start of the deciding transaction.
 */
export class PostgresLeases implements LeaseStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async acquireLease(sessionId: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquiredLease> {
    checkSessionId(sessionId);
    const who = checkLeaseOwner(owner);
    const { ttlMs, takeOver } = checkAcquireOptions(options);
    return inTransaction(this.#access, 'acquireLease', async (client) => {
      const locked = await client.query<Row & { live: boolean }>({
        name: 'orch_lease_lock',
        text: this.#sql.lock,
        values: [sessionId],
      });
      const row = toLeaseRow(locked.rows[0] as Row);
      const decision = decideAcquire(row, locked.rows[0]?.live === true, who, takeOver);
      if (decision.kind === 'busy') throw decision.error;
      if (decision.kind === 'renew') {
        const renewed = await client.query<Row>({
          name: 'orch_lease_renew',
          text: this.#sql.renew,
          values: [sessionId, row.lease.token, ttlMs],
        });
        return { lease: toLeaseRow(renewed.rows[0] as Row).lease };
      }
      const taken = await client.query<Row>({
        name: 'orch_lease_take',
        text: this.#sql.take,
        values: [sessionId, decision.token, ttlMs, who.ownerId, who.host, who.pid],
      });
      return { lease: toLeaseRow(taken.rows[0] as Row).lease, previous: decision.previous };
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const { sessionId, token } = checkLease(lease);
    checkTtl(ttlMs);
    const [renewed] = await queryRows<Row>(this.#access, 'renewLease', {
      name: 'orch_lease_renew',
      text: this.#sql.renew,
      values: [sessionId, token, ttlMs],
    });
    if (renewed !== undefined) return toLeaseRow(renewed).lease;
    const [current] = await queryRows<Row>(this.#access, 'renewLease', {
      name: 'orch_lease_get',
      text: this.#sql.get,
      values: [sessionId],
    });
    throw leaseLost(sessionId, token, current?.released === false ? current.token : undefined, 'renewLease');
  }

  async releaseLease(lease: Lease): Promise<void> {
    const { sessionId, token } = checkLease(lease);
    await queryRows(this.#access, 'releaseLease', {
      name: 'orch_lease_release',
      text: this.#sql.release,
      values: [sessionId, token],
    });
  }

  async getLease(sessionId: string): Promise<Lease | undefined> {
    checkSessionId(sessionId);
    const [row] = await queryRows<Row>(this.#access, 'getLease', {
      name: 'orch_lease_get',
      text: this.#sql.get,
      values: [sessionId],
    });
    return row === undefined || row.released ? undefined : toLeaseRow(row).lease;
  }

  /**
   * The held token of each of these sessions (none for a released lease or none at all), read
   * `FOR SHARE` on the caller's connection inside its append transaction: the fencing read.
   */
  async heldTokens(client: pg.PoolClient, sessionIds: readonly string[]): Promise<Map<string, number>> {
    const result = await client.query<{ session_id: string; token: number; released: boolean }>({
      name: 'orch_lease_held_tokens',
      text: this.#sql.heldTokens,
      values: [sessionIds],
    });
    const tokens = new Map<string, number>();
    for (const row of result.rows) if (!row.released) tokens.set(row.session_id, row.token);
    return tokens;
  }

  /** Deletes the session's lease row on the caller's connection, inside its `deleteSession` transaction. */
  async deleteRow(client: pg.PoolClient, sessionId: string): Promise<void> {
    await client.query({ name: 'orch_lease_delete', text: this.#sql.delete, values: [sessionId] });
  }
}

function toLeaseRow(row: Row): LeaseRow {
  return {
    released: row.released,
    lease: {
      sessionId: row.session_id,
      token: row.token,
      ownerId: row.owner_id,
      host: row.host,
      pid: row.pid,
      acquiredAt: row.acquired_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
    },
  };
}

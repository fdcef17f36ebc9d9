import type { DatabaseSync, StatementSync } from 'node:sqlite';
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
import { sqliteRead, sqliteWriteUnsynced } from './sqlite-errors.ts';
import { prepareStatements } from './sqlite-statements.ts';

const STATEMENTS = {
  get: `SELECT ${LEASE_COLUMNS} FROM session_leases WHERE session_id = ?`,
  take: `INSERT INTO session_leases (${LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
    ON CONFLICT (session_id) DO UPDATE SET token = excluded.token, owner_id = excluded.owner_id,
      host = excluded.host, pid = excluded.pid, acquired_at = excluded.acquired_at,
      expires_at = excluded.expires_at, released = 0`,
  renew: `UPDATE session_leases SET expires_at = ?3 WHERE session_id = ?1 AND token = ?2 AND released = 0`,
  release: 'UPDATE session_leases SET released = 1 WHERE session_id = ? AND token = ? AND released = 0',
  /** The held token of a session, for an append's fencing check. */
  heldToken: 'SELECT token FROM session_leases WHERE session_id = ? AND released = 0',
  delete: 'DELETE FROM session_leases WHERE session_id = ?',
} as const;

interface Row {
  session_id: string;
  token: number;
  owner_id: string;
  host: string;
  pid: number;
  acquired_at: string;
  expires_at: string;
  released: number;
}

/**
 * The {@link LeaseStore} half of the SQLite store, on the store's own connection. Every change
 * runs in `BEGIN IMMEDIATE`, the file's single write lock, which appends take too: an
 * acquisition and an append (of any process) never interleave, so an append's fencing check
 * (see {@link heldTokens}, read inside the append's transaction) sees the lease as it is at
 * its commit. Times are ISO text from this process's clock; `acquireLease` compares the stored
 * expiry with it.
 */
export class SqliteLeases implements LeaseStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;
  /** Whether the connection commits with an fsync (`synchronous = FULL`), which lease writes skip. */
  readonly #full: boolean;

  /** `full`: the connection runs `synchronous = FULL` (lease writes commit without its fsync, see sqliteWriteUnsynced). */
  constructor(db: DatabaseSync, path: string, full: boolean) {
    this.#db = db;
    this.#path = path;
    this.#full = full;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async acquireLease(sessionId: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquiredLease> {
    checkSessionId(sessionId);
    const who = checkLeaseOwner(owner);
    const { ttlMs, takeOver } = checkAcquireOptions(options);
    return sqliteWriteUnsynced(
      this.#db,
      this.#full,
      this.#path,
      'acquireLease',
      () => {
        const row = this.#get(sessionId);
        const nowMs = Date.now();
        const live = row !== undefined && Date.parse(row.lease.expiresAt) > nowMs;
        const decision = decideAcquire(row, live, who, takeOver);
        const expiresAt = new Date(nowMs + ttlMs).toISOString();
        if (decision.kind === 'busy') throw decision.error;
        if (decision.kind === 'renew') {
          const held = (row as LeaseRow).lease;
          this.#sql.renew.run(sessionId, held.token, expiresAt);
          return { lease: { ...held, expiresAt } };
        }
        const now = new Date(nowMs).toISOString();
        this.#sql.take.run(sessionId, decision.token, who.ownerId, who.host, who.pid, now, expiresAt);
        const lease: Lease = { sessionId, ...who, token: decision.token, acquiredAt: now, expiresAt };
        return { lease, previous: decision.previous };
      },
      sessionId,
    );
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    const { sessionId, token } = checkLease(lease);
    checkTtl(ttlMs);
    return sqliteWriteUnsynced(this.#db, this.#full, this.#path, 'renewLease', () => {
      const expiresAt = new Date(Date.now() + ttlMs).toISOString();
      if (this.#sql.renew.run(sessionId, token, expiresAt).changes === 0) {
        const current = this.#get(sessionId);
        throw leaseLost(sessionId, token, current?.released === false ? current.lease.token : undefined, 'renewLease');
      }
      return (this.#get(sessionId) as LeaseRow).lease;
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    const { sessionId, token } = checkLease(lease);
    sqliteWriteUnsynced(this.#db, this.#full, this.#path, 'releaseLease', () =>
      this.#sql.release.run(sessionId, token),
    );
  }

  async getLease(sessionId: string): Promise<Lease | undefined> {
    checkSessionId(sessionId);
    const row = sqliteRead(this.#path, 'getLease', () => this.#get(sessionId));
    return row === undefined || row.released ? undefined : row.lease;
  }

  /**
   * The held token of each of these sessions (none for a released lease or none at all). Runs
   * on the caller's connection inside its write transaction: the append's fencing read.
   */
  heldTokens(sessionIds: readonly string[]): Map<string, number> {
    const tokens = new Map<string, number>();
    for (const sessionId of sessionIds) {
      const row = this.#sql.heldToken.get(sessionId) as { token: number } | undefined;
      if (row !== undefined) tokens.set(sessionId, row.token);
    }
    return tokens;
  }

  /** Deletes the session's lease row, inside the caller's `deleteSession` transaction. */
  deleteRow(sessionId: string): void {
    this.#sql.delete.run(sessionId);
  }

  #get(sessionId: string): LeaseRow | undefined {
    const row = this.#sql.get.get(sessionId) as Row | undefined;
    if (row === undefined) return undefined;
    return {
      released: row.released !== 0,
      lease: {
        sessionId: row.session_id,
        token: row.token,
        ownerId: row.owner_id,
        host: row.host,
        pid: row.pid,
        acquiredAt: row.acquired_at,
        expiresAt: row.expires_at,
      },
    };
  }
}

/** Who runs a session. */
export interface LeaseOwner {
  /** Unique per process run (a UUID the caller makes). */
  readonly ownerId: string;
  /** The machine the owner runs on, so another process there can tell whether its pid is alive. */
  readonly host: string;
  readonly pid: number;
}

/**
 * A session's lease as stored. `token` is the fencing token: it grows by one at every
 * acquisition (never reused, also after release); a session's first acquisition gets 1.
 */
export interface Lease extends LeaseOwner {
  readonly sessionId: string;
  readonly token: number;
  /** ISO time the current owner acquired it. */
  readonly acquiredAt: string;
  /** ISO time it lapses unless renewed (store clock: PostgreSQL's now(), SQLite the process clock). */
  readonly expiresAt: string;
}

/** Options of {@link LeaseStore.acquireLease}. */
export interface AcquireLeaseOptions {
  /** How long the lease lasts without renewal, in milliseconds (a positive integer). */
  readonly ttlMs: number;
  /**
   * Called with the current live (unexpired) lease of ANOTHER owner; return true to take it
   * over anyway (e.g. its pid is dead on this host). Runs inside the store's transaction, so it
   * must be quick and synchronous. An expired lease, a released one, or none at all is always
   * taken.
   * @default never take over a live lease
   */
  readonly takeOver?: (current: Lease) => boolean;
}

/** What {@link LeaseStore.acquireLease} returns. */
export interface AcquiredLease {
  readonly lease: Lease;
  /** The lease that was replaced (expired, or taken over), for the caller to record; undefined when the session was free or released. */
  readonly previous?: Lease | undefined;
}

/**
 * One owner per session: whoever runs a session holds its lease and appends with its fencing
 * token (`AppendOptions.fencingToken`). The store, not the owner, refuses a stale token inside
 * the append's transaction, so a process that was frozen (SIGSTOP, a long GC, a suspended VM)
 * and wakes after another took over cannot write, however late it notices.
 *
 * A lease may exist for a session that has no events yet (acquire first, then append with
 * `expectedLastSeq: 0`); `deleteSession` deletes the session's lease with its log.
 *
 * Deliberately left out: renewing in the background (the owner's job), waiting for a busy
 * session to become free, and deciding whether another owner is dead (`takeOver` is the
 * caller's verdict). Expiry is measured by the store's clock (PostgreSQL's `now()` at the
 * start of the transaction; SQLite the process clock of whoever acquires), so owners on
 * machines whose clocks disagree with it should keep their ttl well above the skew.
 */
export interface LeaseStore {
  /**
   * Takes a session's lease: a free, released or expired lease is taken with the next token; a
   * live lease of another owner only when `takeOver` says so.
   * @throws OrchestratorError `SESSION_BUSY` (details: sessionId, ownerId, host, pid,
   * acquiredAt, expiresAt) when another live owner holds it. Re-acquiring with the same
   * ownerId while it holds the lease returns a renewed lease with the same token.
   * @throws OrchestratorError `INVALID_ARGUMENT`, `STORE_CLOSED`, `STORE_UNAVAILABLE`.
   */
  acquireLease(sessionId: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquiredLease>;
  /**
   * Extends the lease to `ttlMs` from now.
   * @throws OrchestratorError `LEASE_LOST` when the token is no longer the session's current
   * one (taken over) or the lease was released. An expired lease still held (nobody took it)
   * is renewed.
   */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease>;
  /** Gives the lease up (keeps the token counter so tokens never repeat). No-op when not current. */
  releaseLease(lease: Lease): Promise<void>;
  /** The session's lease, live or expired; undefined when none or released. */
  getLease(sessionId: string): Promise<Lease | undefined>;
}

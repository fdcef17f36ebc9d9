import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import {
  type AcquiredLease,
  type Lease,
  type LeaseOwner,
  type LeaseStore,
  leaseIsLive,
  pidAlive,
  sessionBusy,
} from '../store/index.ts';

/** Options of {@link SessionLeases}. */
export interface SessionLeasesOptions {
  readonly store: LeaseStore;
  /** How long a lease lasts without renewal; it is renewed every third of that. */
  readonly ttlMs: number;
  /** Called once per session when its lease is lost (taken over, or renewal kept failing until it lapsed). */
  readonly onLost: (sessionId: string, error: OrchestratorError) => void;
  /** @default this process: a new owner id, the host name and pid */
  readonly owner?: LeaseOwner;
}

/** Why a lease was taken from its previous owner. */
export type TakeoverReason = 'expired' | 'owner_dead';

/** A session this process now owns. */
export interface OwnedSession {
  readonly lease: Lease;
  /** The owner it was taken from, and why; undefined when the session was free. */
  readonly takenOver?: { readonly previous: Lease; readonly reason: TakeoverReason } | undefined;
}

interface Held {
  lease: Lease;
  timer?: NodeJS.Timeout;
  /** Ms since the epoch by which the lease lapses unless renewed (this process's clock). */
  deadline: number;
}

/**
 * The leases this process holds on the sessions it runs: one owner per session. Acquiring
 * refuses a session another live process runs (`SESSION_BUSY`, naming its host, pid and since
 * when); a lease whose owner is gone (lapsed, or its pid dead on this host) is taken over.
 * Leases are renewed in the background (never per event) every third of their time; a renewal
 * refused because another process took over, or failing until the lease lapsed, reports the
 * session lost, and the caller stops its work there (its appends are fenced anyway).
 */
export class SessionLeases {
  readonly owner: LeaseOwner;
  readonly #o: SessionLeasesOptions;
  readonly #held = new Map<string, Held>();
  /** Sessions whose lease this process lost, with why: it must not touch them again. */
  readonly #lostSessions = new Map<string, OrchestratorError>();

  constructor(options: SessionLeasesOptions) {
    this.#o = options;
    this.owner = options.owner ?? { ownerId: randomUUID(), host: hostname(), pid: process.pid };
  }

  /**
   * Takes the session's lease for this process.
   * @throws OrchestratorError `SESSION_BUSY` when another live process owns it.
   */
  async acquire(sessionId: string): Promise<OwnedSession> {
    const held = this.#held.get(sessionId);
    if (held) return { lease: held.lease };
    let reason: TakeoverReason = 'expired';
    const acquired: AcquiredLease = await this.#o.store.acquireLease(sessionId, this.owner, {
      ttlMs: this.#o.ttlMs,
      takeOver: (current) => {
        const dead = current.host === this.owner.host && !pidAlive(current.pid);
        if (dead) reason = 'owner_dead';
        return dead;
      },
    });
    this.#hold(acquired.lease);
    this.#lostSessions.delete(sessionId);
    const previous = acquired.previous;
    return { lease: acquired.lease, ...(previous && { takenOver: { previous, reason } }) };
  }

  /**
   * The `SESSION_BUSY` error naming another live process that owns the session (host, pid,
   * since when), or undefined when none does. Reads only: nothing is taken over.
   */
  async busy(sessionId: string): Promise<OrchestratorError | undefined> {
    if (this.#held.has(sessionId)) return undefined;
    const lease = await this.#o.store.getLease(sessionId);
    return lease && lease.ownerId !== this.owner.ownerId && leaseIsLive(lease) ? sessionBusy(lease) : undefined;
  }

  /** The lease held on a session, if any. */
  lease(sessionId: string): Lease | undefined {
    return this.#held.get(sessionId)?.lease;
  }

  /**
   * Confirms, before a side effect outside the log (a workspace's files, its git repository),
   * that this process still owns the session. The store fences appends, but not files: a
   * process that was frozen past its lease wakes in the middle of such work, before its renewal
   * timer has run. Past the lease's deadline by this process's clock the lease is renewed now,
   * which either holds it again or finds it taken. Sessions this process holds no lease on
   * (a fork, an import) pass.
   * @throws OrchestratorError `LEASE_LOST` when another process owns the session now
   */
  async confirm(sessionId: string): Promise<void> {
    const lost = this.#lostSessions.get(sessionId);
    if (lost) throw lost;
    const held = this.#held.get(sessionId);
    if (!held || Date.now() < held.deadline) return;
    try {
      held.lease = await this.#o.store.renewLease(held.lease, this.#o.ttlMs);
      held.deadline = Date.now() + this.#o.ttlMs;
    } catch (error) {
      this.#lost(sessionId, toOrchestratorError(error));
      throw this.#lostSessions.get(sessionId) ?? error;
    }
  }

  /** Gives a session's lease up (another process may take the session at once). */
  async release(sessionId: string): Promise<void> {
    const held = this.#held.get(sessionId);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(sessionId);
    await this.#o.store.releaseLease(held.lease).catch(() => undefined);
  }

  /** Releases every lease. */
  async close(): Promise<void> {
    await Promise.all([...this.#held.keys()].map((sessionId) => this.release(sessionId)));
  }

  #hold(lease: Lease): void {
    const every = Math.max(50, Math.floor(this.#o.ttlMs / 3));
    const entry: Held = { lease, deadline: Date.now() + this.#o.ttlMs };
    const renew = async () => {
      try {
        entry.lease = await this.#o.store.renewLease(entry.lease, this.#o.ttlMs);
        entry.deadline = Date.now() + this.#o.ttlMs;
      } catch (error) {
        const failure = toOrchestratorError(error);
        // A passing store fault is retried at the next tick, while the lease still holds.
        if (failure.code !== 'LEASE_LOST' && Date.now() < entry.deadline) return;
        this.#lost(lease.sessionId, failure);
        return;
      } finally {
        if (this.#held.get(lease.sessionId) === entry) {
          entry.timer = setTimeout(() => void renew(), every);
          // The renewal alone must not keep a process alive that has nothing else to do.
          entry.timer.unref();
        }
      }
    };
    entry.timer = setTimeout(() => void renew(), every);
    entry.timer.unref();
    this.#held.set(lease.sessionId, entry);
  }

  #lost(sessionId: string, cause: OrchestratorError): void {
    const held = this.#held.get(sessionId);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(sessionId);
    const error =
      cause.code === 'LEASE_LOST'
        ? cause
        : new OrchestratorError('LEASE_LOST', `the lease on session "${sessionId}" lapsed: ${cause.message}`, {
            cause,
            details: { sessionId },
          });
    this.#lostSessions.set(sessionId, error);
    this.#o.onLost(sessionId, error);
  }
}

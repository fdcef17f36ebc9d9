/** Who runs a session. */
export interface LeaseOwner {
  /** Unique per process run (a UUID the caller makes). */
  readonly ownerId: string;
  readonly host: string;
  readonly pid: number;
}
/** A session's lease as stored. `token` is the fencing token. */
export interface Lease extends LeaseOwner {
  readonly sessionId: string;
  readonly token: number;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}
export interface AcquireLeaseOptions {
  readonly ttlMs: number;
  readonly takeOver?: (current: Lease) => boolean;
}
export interface AcquiredLease {
  readonly lease: Lease;
  readonly previous?: Lease | undefined;
}
export interface LeaseStore {
  acquireLease(sessionId: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquiredLease>;
  renewLease(lease: Lease, ttlMs: number): Promise<Lease>;
  releaseLease(lease: Lease): Promise<void>;
  getLease(sessionId: string): Promise<Lease | undefined>;
}

import { hostname } from 'node:os';
import type { Lease } from './lease-store.ts';

/**
 * Whether a lease's owner is alive, as seen from this process: the verdict a `LeaseStore` leaves
 * to its callers (taking a session over, steering it, reporting it as running or interrupted).
 * Kept beside the contract so that the write side and the read side decide alike.
 */

/** True when a process with this pid exists on this host (signal 0 checks without sending). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lease some process still holds: not lapsed, and (on this host) its process is alive. A
 * process SIGKILLed keeps its lease until it lapses; on its own host its death shows at once.
 */
export function leaseIsLive(lease: Lease, now = Date.now()): boolean {
  if (Date.parse(lease.expiresAt) <= now) return false;
  return lease.host !== hostname() || pidAlive(lease.pid);
}

import { OrchestratorError } from '../errors/index.ts';
import { checkKeys, checkSessionId, integer, invalid } from './arguments.ts';
import type { AcquireLeaseOptions, Lease, LeaseOwner } from './lease-store.ts';

/**
 * What both backends share about leases: the checks of every argument (so both refuse the same
 * inputs with the same messages), the decision an acquisition makes over the stored row (a
 * pure function, so the rules live once and are tested without a database), and the errors.
 */

/** The columns of a `session_leases` row, in the order both backends read and write them. */
export const LEASE_COLUMNS = 'session_id, token, owner_id, host, pid, acquired_at, expires_at, released';

/** Longest accepted `ownerId` and `host`. */
export const MAX_OWNER_FIELD_LENGTH = 255;
/** Longest accepted ttl: the longest delay a Node timer can wait, which a renewing owner uses. */
export const MAX_LEASE_TTL_MS = 2_147_483_647;
/** Largest accepted pid (PostgreSQL stores it as `integer`). */
const MAX_PID = 2_147_483_647;

/** A lease row as a backend read it: the lease, and whether it was given up. */
export interface LeaseRow {
  readonly lease: Lease;
  readonly released: boolean;
}

/** What {@link decideAcquire} concluded. */
export type AcquireDecision =
  /** Write the caller in as the new owner with `token`; `previous` is the lease it replaces, if any was held. */
  | { readonly kind: 'take'; readonly token: number; readonly previous: Lease | undefined }
  /** The caller holds it already: extend it, same token. */
  | { readonly kind: 'renew' }
  /** Another live owner holds it: refuse with this `SESSION_BUSY`. */
  | { readonly kind: 'busy'; readonly error: OrchestratorError };

/**
 * Decides an acquisition from the session's stored lease row (read under the transaction's
 * lock). A missing or released row is free; the same `ownerId` renews; another owner's lease is
 * replaced when it expired or `takeOver` agrees, and refused otherwise. The token grows by one
 * at every change of hands, also after a release, so a token is never handed out twice.
 * @param live whether the stored lease has not yet expired, by the store's clock.
 */
export function decideAcquire(
  row: LeaseRow | undefined,
  live: boolean,
  owner: LeaseOwner,
  takeOver: ((current: Lease) => boolean) | undefined,
): AcquireDecision {
  if (row === undefined) return { kind: 'take', token: 1, previous: undefined };
  const { lease, released } = row;
  if (released) return { kind: 'take', token: lease.token + 1, previous: undefined };
  if (lease.ownerId === owner.ownerId) return { kind: 'renew' };
  if (!live || takeOver?.(lease) === true) return { kind: 'take', token: lease.token + 1, previous: lease };
  return { kind: 'busy', error: sessionBusy(lease) };
}

/** The `SESSION_BUSY` error naming who holds the session and since when. */
export function sessionBusy(lease: Lease): OrchestratorError {
  const { sessionId, ownerId, host, pid, acquiredAt, expiresAt } = lease;
  return new OrchestratorError(
    'SESSION_BUSY',
    `session "${sessionId}" is owned by process ${pid} on ${host} since ${acquiredAt} (lease until ${expiresAt})`,
    { details: { sessionId, ownerId, host, pid, acquiredAt, expiresAt } },
  );
}

/**
 * The `LEASE_LOST` error of a write or renewal with a token that is no longer the session's.
 * @param currentToken the token of the session's held lease; undefined when it has none (released or never acquired).
 */
export function leaseLost(
  sessionId: string,
  token: number,
  currentToken: number | undefined,
  operation: string,
): OrchestratorError {
  const why =
    currentToken === undefined
      ? 'the lease was released (or the session has none)'
      : `the lease was taken over (current token ${currentToken})`;
  return new OrchestratorError(
    'LEASE_LOST',
    `${operation} on session "${sessionId}" with lease token ${token} refused: ${why}`,
    { details: { sessionId, token, currentToken: currentToken ?? null, operation } },
  );
}

/**
 * Checks the owner of an acquisition.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the bad field.
 */
export function checkLeaseOwner(owner: unknown): LeaseOwner {
  if (owner === null || typeof owner !== 'object') throw invalid('owner', 'an object', owner);
  const { ownerId, host, pid } = owner as Record<string, unknown>;
  text(ownerId, 'owner.ownerId');
  text(host, 'owner.host');
  integer(pid, 'owner.pid', 1, MAX_PID);
  return { ownerId: ownerId as string, host: host as string, pid: pid as number };
}

/** Checks the options of an acquisition. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkAcquireOptions(options: unknown): AcquireLeaseOptions {
  if (options === null || typeof options !== 'object') throw invalid('options', 'an object', options);
  checkKeys(options, 'options', ['ttlMs', 'takeOver']);
  const { ttlMs, takeOver } = options as AcquireLeaseOptions;
  checkTtl(ttlMs, 'options.ttlMs');
  if (takeOver !== undefined && typeof takeOver !== 'function') {
    throw invalid('options.takeOver', 'a function or undefined', takeOver);
  }
  return takeOver === undefined ? { ttlMs } : { ttlMs, takeOver };
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a positive integer ttl. */
export function checkTtl(value: unknown, field = 'ttlMs'): number {
  return integer(value, field, 1, MAX_LEASE_TTL_MS);
}

/**
 * Checks a lease handed back for renewal or release: its session and token are what count.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the bad field.
 */
export function checkLease(lease: unknown): { sessionId: string; token: number } {
  if (lease === null || typeof lease !== 'object') throw invalid('lease', 'an object', lease);
  const { sessionId, token } = lease as Record<string, unknown>;
  return { sessionId: checkSessionId(sessionId, 'lease.sessionId'), token: integer(token, 'lease.token', 1) };
}

function text(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_OWNER_FIELD_LENGTH) {
    throw invalid(field, `a string of 1 to ${MAX_OWNER_FIELD_LENGTH} characters`, value);
  }
}

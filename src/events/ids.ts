import { v7 as uuidv7 } from 'uuid';

/**
 * A new globally unique, time-sortable id (UUIDv7: millisecond clock plus a monotonic counter
 * and randomness). Unlike ids built from the wall clock's seconds, two ids made in the same
 * millisecond, in one process or several, never collide, and sorting them as strings sorts
 * them by creation time within a process.
 */
export function newId(): string {
  return uuidv7();
}

/** A new id with a readable prefix, e.g. `ses_0190f2...`, for sessions, agents and runs. */
export function newPrefixedId(prefix: string): string {
  return `${prefix}_${uuidv7().replaceAll('-', '')}`;
}

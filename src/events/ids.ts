import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { v7 } from 'uuid';

// Random bytes are drawn from the CSPRNG in 4 KiB blocks: one call per id cost about 10 us,
// more than everything else an event costs on the engine's hot path.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

function randomBytes16(): Uint8Array {
  if (offset + 16 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

/**
 * A new globally unique, time-sortable id (UUIDv7: millisecond clock plus a monotonic counter
 * and randomness). Unlike ids built from the wall clock's seconds, two ids made in the same
 * millisecond, in one process or several, never collide, and sorting them as strings sorts
 * them by creation time within a process.
 */
export function newId(): string {
  const random = randomBytes16();
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // A random start with the top bit clear leaves room to count up within the millisecond.
    sequence =
      (((random[6] as number) & 0x3f) << 24) |
      ((random[7] as number) << 16) |
      ((random[8] as number) << 8) |
      (random[9] as number);
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs++;
  }
  // uuid is loaded by the first id, not by importing the library (issue 15); an ES module
  // without top-level await, so `require` returns the instance `import()` would.
  uuidv7 ??= (createRequire(import.meta.url)('uuid') as typeof import('uuid')).v7;
  return uuidv7({ random, msecs: lastMs, seq: sequence });
}

// The clock and counter of the ids made so far: the counter rises within a millisecond, so
// ids made in this process sort in creation order (the library does the same only when it
// draws its own random bytes).
let lastMs = -1;
let sequence = 0;
let uuidv7: typeof v7 | undefined;

/** A new id with a readable prefix, e.g. `ses_0190f2...`, for sessions, agents and runs. */
export function newPrefixedId(prefix: string): string {
  return `${prefix}_${newId().replaceAll('-', '')}`;
}

import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the CSPRNG in 4 KiB blocks: one call per id cost about 10 us,
// more than everything else an event costs on the engine's hot path.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

/** Two hex digits of every byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

// The clock and counter of the ids made so far: the counter rises within a millisecond, so
// ids made in this process sort in creation order.
let lastMs = -1;
let sequence = 0;
// The first 14 characters (the 48-bit millisecond time) of the ids of the current millisecond.
let prefixMs = -1;
let prefix = '';

/**
 * A new globally unique, time-sortable id (UUIDv7, RFC 9562: millisecond clock, then a 32-bit
 * counter that starts at a random value each millisecond and counts up within it, then 42
 * random bits; the layout of the `uuid` package's v7 with `seq`). Unlike ids built from the
 * wall clock's seconds, two ids made in the same millisecond, in one process or several, never
 * collide, and sorting them as strings sorts them by creation time within a process. Formatted
 * here, with the time's digits reused within a millisecond: the package's general path (checks,
 * a byte array per id) cost several microseconds per event.
 */
export function newId(): string {
  if (offset + 16 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    // A random start with the top bit clear leaves room to count up within the millisecond.
    sequence =
      (((pool[r + 6] as number) & 0x3f) << 24) |
      ((pool[r + 7] as number) << 16) |
      ((pool[r + 8] as number) << 8) |
      (pool[r + 9] as number);
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs++;
  }
  if (lastMs !== prefixMs) {
    prefixMs = lastMs;
    const ms = lastMs;
    prefix = `${HEX[(ms / 0x10000000000) & 0xff]}${HEX[(ms / 0x100000000) & 0xff]}${HEX[(ms / 0x1000000) & 0xff]}${HEX[(ms / 0x10000) & 0xff]}-${HEX[(ms / 0x100) & 0xff]}${HEX[ms & 0xff]}-`;
  }
  const seq = sequence;
  return `${prefix}${HEX[0x70 | ((seq >>> 28) & 0x0f)]}${HEX[(seq >>> 20) & 0xff]}-${HEX[0x80 | ((seq >>> 14) & 0x3f)]}${HEX[(seq >>> 6) & 0xff]}-${HEX[((seq << 2) & 0xff) | ((pool[r + 10] as number) & 0x03)]}${HEX[pool[r + 11] as number]}${HEX[pool[r + 12] as number]}${HEX[pool[r + 13] as number]}${HEX[pool[r + 14] as number]}${HEX[pool[r + 15] as number]}`;
}

/** A new id with a readable prefix, e.g. `ses_0190f2...`, for sessions, agents and runs. */
export function newPrefixedId(prefix: string): string {
  return `${prefix}_${newId().replaceAll('-', '')}`;
}

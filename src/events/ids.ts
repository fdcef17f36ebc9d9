import { randomFillSync } from 'node:crypto';

// Random bytes are drawn from the CSPRNG in 4 KiB blocks: one call per id cost about 10 us,
// more than everything else an event costs on the engine's hot path.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

/** The two hex digits of every byte value, as ASCII codes: HEX_CODES[2b], HEX_CODES[2b + 1]. */
const HEX_CODES = Uint8Array.from({ length: 512 }, (_, i) =>
  '0123456789abcdef'.charCodeAt(i % 2 === 0 ? i >> 5 : (i >> 1) & 0x0f),
);

// An id is written as ASCII into this buffer and decoded once: a template literal of its 17
// pieces made a rope of ConsStrings (about 380 bytes per id, kept as long as the event is)
// where one flat string takes 56, and it was slower.
const ID_LENGTH = 36;
const text = Buffer.alloc(ID_LENGTH);
text[8] = text[13] = text[18] = text[23] = 0x2d; // '-'

/** Writes byte `value` as two hex digits at `at`. */
function hex(at: number, value: number): void {
  text[at] = HEX_CODES[value << 1] as number;
  text[at + 1] = HEX_CODES[(value << 1) + 1] as number;
}

// The clock and counter of the ids made so far: the counter rises within a millisecond, so
// ids made in this process sort in creation order.
let lastMs = -1;
let sequence = 0;
// The millisecond whose time (the first 14 characters) is in `text` already.
let prefixMs = -1;

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
    hex(0, (ms / 0x10000000000) & 0xff);
    hex(2, (ms / 0x100000000) & 0xff);
    hex(4, (ms / 0x1000000) & 0xff);
    hex(6, (ms / 0x10000) & 0xff);
    hex(9, (ms / 0x100) & 0xff);
    hex(11, ms & 0xff);
  }
  const seq = sequence;
  hex(14, 0x70 | ((seq >>> 28) & 0x0f));
  hex(16, (seq >>> 20) & 0xff);
  hex(19, 0x80 | ((seq >>> 14) & 0x3f));
  hex(21, (seq >>> 6) & 0xff);
  hex(24, ((seq << 2) & 0xff) | ((pool[r + 10] as number) & 0x03));
  for (let k = 11, at = 26; k < 16; k++, at += 2) hex(at, pool[r + k] as number);
  return text.toString('latin1', 0, ID_LENGTH);
}

/** A new id with a readable prefix, e.g. `ses_0190f2...`, for sessions, agents and runs. */
export function newPrefixedId(prefix: string): string {
  return `${prefix}_${newId().replaceAll('-', '')}`;
}

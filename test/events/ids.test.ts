import v8 from 'node:v8';
import vm from 'node:vm';
import { v7 as uuidv7, validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newId, newPrefixedId } from '../../src/events/index.ts';

describe('newId', () => {
  it('makes valid UUIDv7s that sort in creation order and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids.slice(0, 200)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps each id as one flat string of about 56 bytes, not a rope of its pieces', () => {
    // A full collection makes heapUsed the live heap: the difference is what the ids retain.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const count = 50_000;
    const ids: string[] = new Array(count).fill('');
    // Several passes: in a worker other test files ran in, weak callbacks and finalizers free
    // more on a second collection, which would otherwise land inside the measurement.
    for (let i = 0; i < 3; i++) gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) ids[i] = newId();
    gc();
    const perId = (process.memoryUsage().heapUsed - before) / count;
    // A flat 36-character string is 56 bytes; the template literal's rope of 17 pieces was ~390.
    expect(perId).toBeGreaterThan(40);
    expect(perId).toBeLessThan(120);
    expect(new Set(ids).size).toBe(count);
  });

  it('carries the current millisecond, as the uuid package reads it', () => {
    const before = Date.now();
    const id = newId();
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    // At or after the clock (a counter that wrapped within a millisecond moves it on by one).
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('lays out time, counter and random bits as the uuid package does with the same counter', () => {
    const id = newId();
    const hex = id.replaceAll('-', '');
    const ms = Number.parseInt(hex.slice(0, 12), 16);
    // The counter's 32 bits sit in the 4 bits after the version, the next byte, then after the
    // variant 6 + 8 + 6 bits; the last 42 bits are random.
    const bytes = Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
    const seq =
      (((bytes[6] as number) & 0x0f) << 28) |
      ((bytes[7] as number) << 20) |
      (((bytes[8] as number) & 0x3f) << 14) |
      ((bytes[9] as number) << 6) |
      ((bytes[10] as number) >>> 2);
    const random = new Uint8Array(16);
    random.set(bytes.subarray(10), 10);
    expect(uuidv7({ random, msecs: ms, seq: seq >>> 0 })).toBe(id);
  });

  it('prefixes without dashes', () => {
    expect(newPrefixedId('ses')).toMatch(/^ses_[0-9a-f]{32}$/);
  });
});

import { expect } from 'vitest';
import type { TranscriptEntry } from '../../../../src/store/index.ts';

/** An entry of `type` with more fields. */
export function entry(type: string, extra: Record<string, unknown> = {}): TranscriptEntry {
  return { type, ...extra };
}

/** Entries must come back deep-equal (key order is not part of the contract) and in order. */
export function expectEntries(actual: TranscriptEntry[] | null, expected: TranscriptEntry[]): void {
  expect(actual).not.toBeNull();
  expect(actual).toStrictEqual(expected);
}

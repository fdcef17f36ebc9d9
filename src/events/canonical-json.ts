import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal values always give the same text (and
 * hash). `undefined` members are left out and `undefined` elsewhere is `null`, as in
 * `JSON.stringify`. Written as one pass that appends to a string: the version chunker runs it
 * on every changed node of a run, where the array-of-entries form spent most of a version's CPU.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // The default sort compares UTF-16 code units, the same order on every machine.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** SHA-256 (hex) of a text, in one call (no Hash object per text). */
export function sha256Hex(text: string | Uint8Array): string {
  return hash('sha256', text, 'hex');
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/events/index.ts';

/**
 * The definition, written plainly: keys sorted at every level, `undefined` members left out.
 * (A sorted copy given to JSON.stringify would not do: it puts integer-like keys first.)
 */
function reference(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const members = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference((value as Record<string, unknown>)[key])}`);
  return `{${members.join(',')}}`;
}

describe('canonicalJson', () => {
  it('sorts keys by code unit at every level, whatever order they were made in', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, '10': 0, '9': 0 })).toBe(
      '{"10":0,"9":0,"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
    expect(canonicalJson(JSON.parse('{"__proto__":1,"é":2,"\\"q":3}'))).toBe('{"\\"q":3,"__proto__":1,"é":2}');
    // Members written without a call: every number JSON knows, the others as null, booleans.
    const numbers = {
      a: -0,
      b: 1.5e300,
      c: Number.NaN,
      d: -Infinity,
      e: true,
      f: false,
      g: [-0, Number.NaN, 2e-7, true],
    };
    expect(canonicalJson(numbers)).toBe(JSON.stringify(numbers));
    expect(canonicalJson(numbers)).toBe(reference(numbers));
  });

  it('gives the same text for objects of one key list in another order, in runs and interleaved', () => {
    // The sorted order of the last key list of each length is remembered: objects of the same
    // keys in a different order, or other keys of the same count, must not reuse it wrongly.
    const values = [
      { id: 'a', task: 't', agent: 'x', dependsOn: [] },
      { id: 'b', task: 't', agent: 'x', dependsOn: ['a'] },
      { dependsOn: ['b'], agent: 'x', task: 't', id: 'c' },
      { id: 'd', kind: 'k', agent: 'x', dependsOn: [] },
      { zz: 1, yy: { id: 1, b: 2, a: 3, c: 4 }, xx: 3, ww: 4 },
    ];
    for (const value of [...values, ...values.reverse()]) expect(canonicalJson(value)).toBe(reference(value));
  });

  it('matches the reference on any JSON value', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 6 }), (values) => {
        for (const value of values) expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 500 },
    );
  });
});

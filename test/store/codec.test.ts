import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../src/errors/index.ts';
import { prepareEvent } from '../../src/events/index.ts';
import { toAppendRequest } from '../../src/store/batch.ts';
import {
  committedEvent,
  decodeRow,
  encodePayload,
  handPayloadTexts,
  type RawRow,
  rowChecksum,
} from '../../src/store/codec.ts';

const pending = prepareEvent({
  type: 'agent.progress',
  data: { agentId: 'a', kind: 'text', text: 'hé 🎉' },
  correlationId: 'cor',
});
const data = encodePayload(pending, 0);

function row(overrides: Partial<Record<number, unknown>> = {}): unknown[] {
  const values: unknown[] = ['ses_1', 7, pending.id, pending.type, pending.ts, pending.source, 'cor', null, data];
  values.push(rowChecksum('ses_1', 7, pending.id, pending.type, pending.ts, pending.source, 'cor', null, data));
  for (const [index, value] of Object.entries(overrides)) values[Number(index)] = value;
  return values;
}

function corruption(raw: RawRow): unknown {
  try {
    decodeRow(raw, 'ses_1');
  } catch (error) {
    return error;
  }
  throw new Error('decodeRow accepted a damaged row');
}

describe('row checksum', () => {
  it('changes when any single column changes, and tells null from empty', () => {
    const base = ['s', 1, 'id', 'type', 'ts', 'src', null, null, '{}'] as const;
    const sum = rowChecksum(...base);
    const variants: Array<Parameters<typeof rowChecksum>> = [
      ['t', 1, 'id', 'type', 'ts', 'src', null, null, '{}'],
      ['s', 2, 'id', 'type', 'ts', 'src', null, null, '{}'],
      ['s', 1, 'ie', 'type', 'ts', 'src', null, null, '{}'],
      ['s', 1, 'id', 'typf', 'ts', 'src', null, null, '{}'],
      ['s', 1, 'id', 'type', 'tt', 'src', null, null, '{}'],
      ['s', 1, 'id', 'type', 'ts', 'srd', null, null, '{}'],
      ['s', 1, 'id', 'type', 'ts', 'src', '', null, '{}'],
      ['s', 1, 'id', 'type', 'ts', 'src', null, '', '{}'],
      ['s', 1, 'id', 'type', 'ts', 'src', null, null, '{ }'],
      // Moving characters between neighbouring fields must not collide.
      ['s', 1, 'idt', 'ype', 'ts', 'src', null, null, '{}'],
    ];
    for (const variant of variants) expect(rowChecksum(...variant)).not.toBe(sum);
    expect(rowChecksum(...base)).toBe(sum);
  });

  it("is the CRC-32 of the row's canonical UTF-8 text, short payload or long (chained)", () => {
    const { crc32 } = process.getBuiltinModule('node:zlib');
    // Around the length where the payload is chained on rather than joined, with characters of
    // two, three and four UTF-8 bytes (one of them a surrogate pair) at both ends.
    for (const length of [0, 90, 8191, 8192, 8193, 700_000]) {
      const payload = length < 4 ? 'x'.repeat(length) : `é${'x'.repeat(length - 4)}€🎉`;
      expect(payload.length).toBe(length);
      const canonical = `v1|5:ses_1|7|2:id|4:type|2:ts|3:src|3:cor|~|${payload.length}:${payload}`;
      expect(rowChecksum('ses_1', 7, 'id', 'type', 'ts', 'src', 'cor', null, payload)).toBe(
        crc32(Buffer.from(canonical, 'utf8')),
      );
    }
  });
});

describe('decodeRow', () => {
  it('returns the event of a sound row', () => {
    expect(decodeRow(row(), 'ses_1')).toEqual({ ...pending, sessionId: 'ses_1', seq: 7 });
  });

  it.each([
    ['a changed payload', { 8: '{"agentId":"b"}' }],
    ['a changed checksum', { 9: 1 }],
    ['a missing data column', { 8: null }],
    ['a missing checksum column', { 9: undefined }],
    ['a missing id column', { 2: null }],
    ['a text checksum', { 9: '123' }],
    ['another session', { 0: 'ses_2' }],
  ])('refuses %s with STORE_CORRUPT naming session and seq', (_, overrides) => {
    const error = corruption(row(overrides));
    expect(isOrchestratorError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ sessionId: 'ses_1', seq: 7 });
  });

  it('refuses payload text that is not JSON even when its checksum matches', () => {
    const bad = '{"agentId":';
    const sum = rowChecksum('ses_1', 7, pending.id, pending.type, pending.ts, pending.source, 'cor', null, bad);
    const error = corruption(row({ 8: bad, 9: sum }));
    expect(isOrchestratorError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain('not valid JSON');
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses a row without a usable seq, reporting seq null', () => {
    const error = corruption(row({ 1: null }));
    expect((error as { details: unknown }).details).toEqual({ sessionId: 'ses_1', seq: null });
  });
});

describe('encodePayload and committedEvent', () => {
  it('serializes the payload to the text a read decodes back, and builds the committed event', () => {
    expect(JSON.parse(data)).toEqual(pending.data);
    expect(committedEvent('ses_1', 7, pending)).toEqual(decodeRow(row(), 'ses_1'));
  });

  it.each([
    ['a BigInt payload', { data: { n: 1n } }],
    ['an undefined payload', { data: undefined }],
    [
      'a cyclic payload',
      {
        data: (() => {
          const o: Record<string, unknown> = {};
          o.self = o;
          return o;
        })(),
      },
    ],
    ['an empty id', { id: '' }],
    ['a numeric ts', { ts: 5 }],
    ['an object correlationId', { correlationId: {} }],
  ])('refuses %s with EVENT_INVALID', (_, change) => {
    expect(() => encodePayload({ ...pending, ...change } as never, 3)).toThrow(
      expect.objectContaining({ code: 'EVENT_INVALID', details: expect.objectContaining({ index: 3 }) }),
    );
  });

  it('takes a payload text handed over with its batch (the log serialized it already), for that array only', () => {
    const event = prepareEvent({ type: 'agent.progress', data: { agentId: 'a', kind: 'text', text: 'x' } });
    // A marker text that differs from the data shows which one was stored.
    const marker = '{"agentId":"a","kind":"text","text":"handed"}';
    const batch = [event];
    handPayloadTexts(batch, [marker]);
    // Another array holding the same event is serialized afresh.
    expect(toAppendRequest('ses_1', [event], undefined).payloads).toEqual([JSON.stringify(event.data)]);
    expect(toAppendRequest('ses_1', batch, undefined).payloads).toEqual([marker]);
    // Taken once: the same array appended again is serialized.
    expect(toAppendRequest('ses_1', batch, undefined).payloads).toEqual([JSON.stringify(event.data)]);
    // The envelope is still checked.
    const bad = [{ ...event, id: '' }];
    handPayloadTexts(bad, ['{}']);
    expect(() => toAppendRequest('ses_1', bad, undefined)).toThrow(expect.objectContaining({ code: 'EVENT_INVALID' }));
  });
});

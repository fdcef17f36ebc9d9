import { describe, expect, it } from 'vitest';
import { encodedForms, Redactor } from '../../src/security/index.ts';

const KEY = 'test-model-key-planted-0123456789abcdef';
const AWS = 'plantedAWSsecret/with+special=chars';

describe('Redactor', () => {
  const redactor = new Redactor([
    { name: 'ANTHROPIC_API_KEY', value: KEY },
    { name: 'AWS_SECRET_ACCESS_KEY', value: AWS },
  ]);

  it('replaces every occurrence of a value by a marker naming it', () => {
    expect(redactor.redactText(`a ${KEY} b ${KEY}${AWS}`)).toBe(
      'a [REDACTED:ANTHROPIC_API_KEY] b [REDACTED:ANTHROPIC_API_KEY][REDACTED:AWS_SECRET_ACCESS_KEY]',
    );
    expect(redactor.contains(`x${AWS}y`)).toBe(true);
    expect(redactor.contains('nothing here')).toBe(false);
    expect(redactor.names).toEqual(['ANTHROPIC_API_KEY', 'AWS_SECRET_ACCESS_KEY']);
  });

  it('redacts strings and keys at any depth, and returns untouched values as the same objects', () => {
    const clean = { a: [1, { b: 'plain', c: null, d: true }], e: 'text' };
    expect(redactor.redact(clean)).toBe(clean);
    const nested = {
      type: 'agent.tool_result',
      data: {
        content: [{ type: 'text', text: `ANTHROPIC_API_KEY=${KEY}\nPATH=/usr/bin` }],
        error: { message: `failed with ${AWS}` },
        [KEY]: 'a key as a key',
        deep: [[[[{ x: [`${AWS}`] }]]]],
        count: 3,
      },
      untouched: { same: 'object' },
    };
    const out = redactor.redact(nested);
    expect(JSON.stringify(out)).not.toContain(KEY);
    expect(JSON.stringify(out)).not.toContain(AWS);
    expect(out.data.content[0]?.text).toBe('ANTHROPIC_API_KEY=[REDACTED:ANTHROPIC_API_KEY]\nPATH=/usr/bin');
    expect(out.data.deep[0]?.[0]?.[0]?.[0]?.x).toEqual(['[REDACTED:AWS_SECRET_ACCESS_KEY]']);
    expect(out.data).toHaveProperty(['[REDACTED:ANTHROPIC_API_KEY]'], 'a key as a key');
    expect(out.data.count).toBe(3);
    expect(out.untouched).toBe(nested.untouched);
    // The input is never changed in place.
    expect(nested.data.content[0]?.text).toContain(KEY);
  });

  it('redacts very deep values through their JSON text', () => {
    let deep: unknown = KEY;
    for (let i = 0; i < 200; i++) deep = { next: deep };
    expect(JSON.stringify(redactor.redact(deep))).not.toContain(KEY);
  });

  it('redacts objects with toJSON (errors that serialize) as their JSON form', () => {
    const withJson = { toJSON: () => ({ message: `boom ${KEY}` }) };
    const date = new Date(0);
    expect(redactor.redact({ error: withJson, date })).toEqual({
      error: { message: 'boom [REDACTED:ANTHROPIC_API_KEY]' },
      date,
    });
  });

  it('prefers the longest value where values overlap or one is a substring of another', () => {
    const r = new Redactor([
      { name: 'SHORT', value: 'abcdefgh' },
      { name: 'LONG', value: 'abcdefgh-and-more' },
      { name: 'OVERLAP', value: 'fghij-tail' },
    ]);
    expect(r.redactText('x abcdefgh-and-more y abcdefgh z')).toBe('x [REDACTED:LONG] y [REDACTED:SHORT] z');
    // Two values sharing characters: the first one found wins, and neither value is left whole.
    const overlapped = r.redactText('abcdefghij-tail');
    expect(overlapped).toBe('[REDACTED:SHORT]ij-tail');
    expect(overlapped).not.toContain('abcdefgh');
    expect(overlapped).not.toContain('fghij-tail');
  });

  it('handles many secrets with regular-expression characters in them', () => {
    const secrets = Array.from({ length: 200 }, (_, i) => ({ name: `S${i}`, value: `v.*+?^$[](){}|\\/-${i}-end` }));
    const r = new Redactor(secrets);
    const text = secrets.map((s) => `<${s.value}>`).join(' ');
    const out = r.redactText(text);
    for (const s of secrets) expect(out).not.toContain(s.value);
    expect(out).toContain('<[REDACTED:S0]>');
    expect(out).toContain('<[REDACTED:S199]>');
    expect(r.redactText('v.*+?^$[](){}|\\/-x-end stays')).toBe('v.*+?^$[](){}|\\/-x-end stays');
  });

  it('matches unicode values exactly, astral characters included', () => {
    const r = new Redactor([{ name: 'UNI', value: 'pässwörd-🔑-密码' }]);
    expect(r.redactText('x=pässwörd-🔑-密码;')).toBe('x=[REDACTED:UNI];');
    expect(r.redactText('x=passwörd-🔑-密码;')).toBe('x=passwörd-🔑-密码;');
  });

  it('catches base64 at any alignment, URL-encoded and JSON-escaped forms', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const b64 = Buffer.from(`${prefix}${KEY}\n`).toString('base64');
      expect(redactor.contains(b64), `base64 after ${prefix.length} bytes`).toBe(true);
      const url = Buffer.from(`${prefix}${AWS}`).toString('base64url');
      expect(redactor.contains(url), `base64url after ${prefix.length} bytes`).toBe(true);
    }
    expect(redactor.redactText(`k=${encodeURIComponent(AWS)}`)).toBe('k=[REDACTED:AWS_SECRET_ACCESS_KEY]');
    const quoted = new Redactor([{ name: 'Q', value: 'say "hi"\\now' }]);
    expect(quoted.redactText(JSON.stringify({ v: 'say "hi"\\now' }))).toBe('{"v":"[REDACTED:Q]"}');
    expect(encodedForms('short')).toEqual([]);
    expect(new Redactor([{ name: 'P', value: KEY }], { encodedForms: false }).contains(btoa(KEY))).toBe(false);
  });

  it('catches base64 wrapped across lines, as printed and JSON-escaped', () => {
    for (const prefix of ['a'.repeat(40), 'b'.repeat(41), 'c'.repeat(42)]) {
      const wrapped = (
        Buffer.from(`${prefix}${KEY}`)
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      ).join('\n');
      expect(wrapped).toContain('\n');
      const out = redactor.redactText(wrapped);
      expect(out, `after ${prefix.length} bytes`).toContain('[REDACTED:ANTHROPIC_API_KEY]');
      expect(redactor.redactText(JSON.stringify(wrapped))).toContain('[REDACTED:ANTHROPIC_API_KEY]');
      expect(redactor.redactText(wrapped.replaceAll('\n', '\r\n'))).toContain('[REDACTED:ANTHROPIC_API_KEY]');
    }
    // A plain value split by a break too; the text around it keeps its lines.
    expect(redactor.redactText(`a\n${KEY.slice(0, 10)}\n${KEY.slice(10)}\nb`)).toBe(
      'a\n[REDACTED:ANTHROPIC_API_KEY]\nb',
    );
    expect(redactor.contains(`${KEY.slice(0, 10)}\\n${KEY.slice(10)}`)).toBe(true);
    expect(redactor.redactText('one\ntwo\n')).toBe('one\ntwo\n');
  });

  it('changes nothing when it knows no secret', () => {
    const value = { a: KEY };
    expect(Redactor.none.active).toBe(false);
    expect(Redactor.none.redact(value)).toBe(value);
    expect(Redactor.none.redactText(KEY)).toBe(KEY);
    expect(new Redactor([{ name: 'EMPTY', value: '' }]).active).toBe(false);
  });
});

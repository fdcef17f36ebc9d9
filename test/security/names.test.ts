import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBelow, checkSafeName, childPath, isSafeName, isWithin } from '../../src/security/index.ts';
import { caseReport, errorOf } from './report.ts';

// The one validator of names that become paths, and the root check behind it: every hostile
// name is refused with INVALID_ARGUMENT naming the field and the rule.

const report = caseReport('names');
afterAll(() => report.print());

/** Names an attacker would try for a session id, a label, an `--as`. */
const HOSTILE = [
  '../../../x',
  '..',
  '.',
  '../x',
  'a/../../b',
  'a/b',
  '/etc/passwd',
  'a\\..\\b',
  '',
  ' ',
  'ses 1',
  '.hidden',
  '-rf',
  'a..b',
  'x\0y',
  'x\ny',
  'über',
  'a'.repeat(129),
  '%2e%2e%2f',
  '~',
  '$(id)',
  'a;rm -rf /',
  'C:\\Windows',
];

describe('safe names', () => {
  it.each(HOSTILE)('refuses %j', async (name) => {
    const error = await errorOf(() => checkSafeName(name, '--session'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^--session must be a safe name: expected a letter or digit/);
    expect(isSafeName(name)).toBe(false);
    report.note(`name ${JSON.stringify(name.slice(0, 40))}`, 'refused', error.message);
  });

  it.each([1, null, undefined, {}, ['a']])('refuses a non-string %j', async (value) => {
    const error = await errorOf(() => checkSafeName(value, 'sessionId'));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^sessionId must be/) });
    report.note(`name of type ${typeof value}`, 'refused', error.message);
  });

  it('accepts the ids the orchestrator makes and plain ones', () => {
    for (const name of ['ses_01a22006893b73bcbf5a154fdf433dcc', 's1', 'my-session.2', 'A', '9', 'a'.repeat(128)]) {
      expect(checkSafeName(name, 'sessionId')).toBe(name);
    }
  });
});

describe('paths stay under their root', () => {
  const root = path.join(path.sep, 'data', 'worktrees');

  it('joins safe names only, and never leaves the root', async () => {
    expect(childPath(root, ['ses_1', 'build-1'])).toBe(path.join(root, 'ses_1', 'build-1'));
    for (const parts of [['..'], ['ses_1', '..'], ['../../etc'], ['ses_1', '../../../tmp/x'], ['/etc']]) {
      const error = await errorOf(() => childPath(root, parts, ['sessionId', 'label']));
      expect(error.code).toBe('INVALID_ARGUMENT');
      report.note(`childPath ${JSON.stringify(parts)}`, 'refused', error.message);
    }
  });

  it('checks a path built elsewhere before it is removed', async () => {
    expect(assertBelow(root, path.join(root, 'ses_1'))).toBe(path.join(root, 'ses_1'));
    for (const candidate of [root, path.join(root, '..'), path.join(root, '..', 'other'), '/', '/data/worktreesX']) {
      const error = await errorOf(() => assertBelow(root, candidate, 'workspace'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      report.note(`assertBelow ${candidate}`, 'refused', error.message);
    }
    expect(isWithin(root, path.join(root, 'a', 'b'))).toBe(true);
    expect(isWithin(root, '/data/worktrees-other')).toBe(false);
  });
});

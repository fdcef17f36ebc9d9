import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, OrchestratorError, toOrchestratorError } from '../src/errors/index.ts';

const docs = readFileSync(path.resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');
const documented = [...docs.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/gm)].map((m) => ({
  code: m[1] as string,
  status: Number(m[2]),
  retryable: m[3] === 'yes',
}));

describe('error code registry', () => {
  it('documents every code with its status and retry verdict, and nothing else', () => {
    const registry = Object.entries(ERROR_CODES).map(([code, e]) => ({
      code,
      status: e.status,
      retryable: e.retryable,
    }));
    expect(documented).toEqual(registry);
  });

  it('gives every code a status, a verdict and a summary', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.summary.length).toBeGreaterThan(10);
    }
  });

  it('carries code, status, retry verdict and cause', () => {
    const cause = new Error('disk full');
    const error = new OrchestratorError('STORE_UNAVAILABLE', 'cannot write', { cause, details: { path: '/x' } });
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, retryable: true, cause });
    expect(error.toJSON()).toEqual({
      code: 'STORE_UNAVAILABLE',
      message: 'cannot write',
      retryable: true,
      details: { path: '/x' },
    });
    expect(new OrchestratorError('STORE_UNAVAILABLE', 'x', { retryable: false }).retryable).toBe(false);
  });

  it('normalizes unknown throwables at boundaries, keeping the original', () => {
    const original = new TypeError('boom');
    const normalized = toOrchestratorError(original);
    expect(normalized.code).toBe('INTERNAL');
    expect(normalized.cause).toBe(original);
    expect(toOrchestratorError('text', 'INVALID_ARGUMENT').message).toBe('text');
  });
});

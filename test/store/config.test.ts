import { describe, expect, it } from 'vitest';
import { compileStoreConfig } from '../../src/store/config.ts';
import { pendingMigrations } from '../../src/store/migrations.ts';
import { redactUrl } from '../../src/store/postgres-errors.ts';

describe('compileStoreConfig', () => {
  it('applies defaults and freezes the result', () => {
    const sqlite = compileStoreConfig({ kind: 'sqlite', path: 'x.db' });
    expect(sqlite).toEqual({ kind: 'sqlite', path: 'x.db', synchronous: 'full', busyTimeoutMs: 10_000 });
    expect(Object.isFrozen(sqlite)).toBe(true);
    expect(compileStoreConfig({ kind: 'postgres', url: 'postgres://h/db' })).toEqual({
      kind: 'postgres',
      url: 'postgres://h/db',
      schema: 'public',
      maxReadConnections: 4,
      connectTimeoutMs: 10_000,
    });
  });

  it('reports every problem at once, naming field, expectation and received value', () => {
    let error: unknown;
    try {
      compileStoreConfig({
        kind: 'postgres',
        url: '',
        schema: 'Bad-Name',
        maxReadConnections: 0,
        color: 'red',
      } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    const problems = (error as { details: { problems: Array<{ field: string; received: string }> } }).details.problems;
    expect(problems.map((p) => p.field).sort()).toEqual([
      'store',
      'store.maxReadConnections',
      'store.schema',
      'store.url',
    ]);
    expect(problems.find((p) => p.field === 'store.schema')?.received).toBe('"Bad-Name" (string)');
    expect((error as Error).message).toContain('store.maxReadConnections');
  });
});

describe('pendingMigrations', () => {
  const list = [
    { version: 1, name: 'one' },
    { version: 2, name: 'two' },
  ];

  it('returns the migrations not yet recorded, in order', () => {
    expect(pendingMigrations(list, [], 'db').map((m) => m.version)).toEqual([1, 2]);
    expect(pendingMigrations(list, [1], 'db').map((m) => m.version)).toEqual([2]);
    expect(pendingMigrations(list, [1, 2], 'db')).toEqual([]);
  });

  it('refuses a database newer than the code with STORE_NEWER_SCHEMA', () => {
    expect(() => pendingMigrations(list, [1, 2, 3], 'db')).toThrow(
      expect.objectContaining({ code: 'STORE_NEWER_SCHEMA', details: { databaseVersion: 3, knownVersion: 2 } }),
    );
  });
});

describe('redactUrl', () => {
  it('hides passwords in the authority and in query parameters, and never echoes an unparseable URL', () => {
    expect(redactUrl('postgres://bob:pw@db:5432/x')).toBe('postgres://bob:***@db:5432/x');
    expect(redactUrl('postgres://db/x?password=pw&sslmode=require')).toBe(
      'postgres://db/x?password=***&sslmode=require',
    );
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
    expect(redactUrl('bob:pw@@:::')).toBe('<unparseable PostgreSQL URL>');
  });
});

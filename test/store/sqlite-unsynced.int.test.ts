import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import { SqliteEventStore } from '../../src/store/index.ts';
// Internal on purpose: the helper's contract is checked on a connection the test owns.
import { sqliteWriteUnsynced } from '../../src/store/sqlite-errors.ts';
import { events, sessionId } from './conformance/helpers.ts';
import { freshBlobs, newVersion } from './conformance/versions/helpers.ts';

/**
 * Lease and blob writes commit without an fsync of their own on a FULL store (see
 * `sqliteWriteUnsynced`); everything else keeps FULL. What a commit waits for cannot be seen
 * from outside, so the SQL the store issues on its real connection is watched.
 */

const dir = mkdtempSync(join(tmpdir(), 'orch-sqlite-unsynced-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const owner = () => ({ ownerId: `owner-${Math.random()}`, host: 'here', pid: process.pid });

/** The level of a connection: 2 is FULL, 1 NORMAL. */
function level(db: DatabaseSync): number {
  return (db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous;
}

/** The statements `work` runs through `exec` on any connection (the calls still go through). */
async function execsOf(work: () => Promise<unknown>): Promise<string[]> {
  const spy = vi.spyOn(DatabaseSync.prototype, 'exec');
  try {
    await work();
    return spy.mock.calls.map(([sql]) => String(sql));
  } finally {
    spy.mockRestore();
  }
}

const UNSYNCED = ['PRAGMA synchronous = NORMAL', 'BEGIN IMMEDIATE', 'COMMIT', 'PRAGMA synchronous = FULL'];

describe('sqliteWriteUnsynced', () => {
  function connection(synchronous: 'FULL' | 'NORMAL'): DatabaseSync {
    const db = new DatabaseSync(join(dir, `helper-${Math.random()}.db`));
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    db.exec('CREATE TABLE t (x INTEGER)');
    return db;
  }

  it('commits at NORMAL on a FULL connection and sets FULL back', () => {
    const db = connection('FULL');
    const inside = sqliteWriteUnsynced(db, true, 'helper.db', 'test', () => {
      db.prepare('INSERT INTO t VALUES (1)').run();
      return level(db);
    });
    expect(inside).toBe(1);
    expect(level(db)).toBe(2);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    db.close();
  });

  it('rolls back a failed write, reports it in the store codes and still sets FULL back', () => {
    const db = connection('FULL');
    let thrown: unknown;
    try {
      sqliteWriteUnsynced(db, true, 'helper.db', 'test', () => {
        db.prepare('INSERT INTO t VALUES (1)').run();
        db.prepare('INSERT INTO missing VALUES (1)').run();
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OrchestratorError);
    expect((thrown as OrchestratorError).message).toContain('helper.db');
    expect(level(db)).toBe(2);
    expect(db.isTransaction).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    db.close();
  });

  it('leaves a NORMAL connection alone', () => {
    const db = connection('NORMAL');
    const spy = vi.spyOn(db, 'exec');
    sqliteWriteUnsynced(db, false, 'helper.db', 'test', () => db.prepare('INSERT INTO t VALUES (1)').run());
    expect(spy.mock.calls.map(([sql]) => sql)).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
    expect(level(db)).toBe(1);
    db.close();
  });
});

describe('a FULL SQLite store', () => {
  it('writes leases and blobs without an fsync of their own, events and versions with one', async () => {
    const store = await SqliteEventStore.open({ path: join(dir, 'full.db') });
    const id = sessionId();
    try {
      let lease = (await store.acquireLease(id, owner(), { ttlMs: 10_000 })).lease;
      expect(await execsOf(() => store.renewLease(lease, 10_000).then((renewed) => (lease = renewed)))).toEqual(
        UNSYNCED,
      );
      // Events and versions, which other things rely on as soon as they are committed, keep FULL.
      const appended = await execsOf(() => store.append(id, events(2), { fencingToken: lease.token }));
      expect(appended).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
      const blobs = freshBlobs(2);
      expect(await execsOf(() => store.putBlobs(blobs))).toEqual(UNSYNCED);
      expect(await execsOf(() => store.putVersion(newVersion(id, blobs)))).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
      expect(await execsOf(() => store.releaseLease(lease))).toEqual(UNSYNCED);
      const fresh = sessionId();
      expect(await execsOf(() => store.acquireLease(fresh, owner(), { ttlMs: 10_000 }))).toEqual(UNSYNCED);
      // A refused acquisition rolls back and leaves the connection at FULL for the next append.
      const refused = await execsOf(() =>
        store.acquireLease(fresh, owner(), { ttlMs: 10_000 }).then(
          () => undefined,
          (error: unknown) => expect((error as OrchestratorError).code).toBe('SESSION_BUSY'),
        ),
      );
      expect(refused).toEqual([
        'PRAGMA synchronous = NORMAL',
        'BEGIN IMMEDIATE',
        'ROLLBACK',
        'PRAGMA synchronous = FULL',
      ]);
      expect(await execsOf(() => store.append(id, events(1)))).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
    } finally {
      await store.close();
    }
  });

  it('shows a lease written without an fsync to another connection at once', async () => {
    const path = join(dir, 'visible.db');
    const store = await SqliteEventStore.open({ path });
    try {
      const id = sessionId();
      const { lease } = await store.acquireLease(id, owner(), { ttlMs: 10_000 });
      const other = new DatabaseSync(path);
      const row = other.prepare('SELECT token, released FROM session_leases WHERE session_id = ?').get(id);
      other.close();
      expect(row).toEqual({ token: lease.token, released: 0 });
    } finally {
      await store.close();
    }
  });

  it('changes nothing on a NORMAL store', async () => {
    const store = await SqliteEventStore.open({ path: join(dir, 'normal.db'), synchronous: 'normal' });
    try {
      const id = sessionId();
      const acquired = await execsOf(() => store.acquireLease(id, owner(), { ttlMs: 10_000 }));
      expect(acquired).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
      expect(await execsOf(() => store.putBlobs(freshBlobs(1)))).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
    } finally {
      await store.close();
    }
  });
});

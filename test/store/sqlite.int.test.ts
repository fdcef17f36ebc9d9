import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore, SqliteEventStore } from '../../src/store/index.ts';
// Internal on purpose: the migration test builds a database as an older orchestrator left it.
import { SQLITE_MIGRATIONS, SQLITE_MIGRATIONS_TABLE } from '../../src/store/sqlite-schema.ts';
import { events, rejection, sessionId } from './conformance/helpers.ts';
import { describeEventStoreConformance } from './conformance/index.ts';
import { describeRegistryConformance } from './conformance/registry/index.ts';
import { describeTranscriptStoreConformance, transcriptOps } from './conformance/transcripts/index.ts';
import { blob, freshBlobs, newVersion } from './conformance/versions/helpers.ts';
import { describeVersionStoreConformance } from './conformance/versions/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'orch-sqlite-store-'));
const path = join(dir, 'nested', 'deeper', 'events.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs SQL on the file through a connection of its own, behind the store's back. */
function withFile<T>(file: string, work: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return work(db);
  } finally {
    db.close();
  }
}

describeEventStoreConformance('sqlite', {
  open: () => SqliteEventStore.open({ path }),
  async corruptRow(sessionIdValue, seq, how) {
    const change = how === 'checksum' ? `data = '{"tampered":true}'` : 'data = substr(data, 1, length(data) / 2)';
    withFile(path, (db) => {
      const result = db
        .prepare(`UPDATE events SET ${change} WHERE session_id = ? AND seq = ?`)
        .run(sessionIdValue, seq);
      if (result.changes !== 1) throw new Error(`no row ${sessionIdValue}/${seq} to corrupt`);
    });
  },
  async cleanup() {
    rmSync(join(dir, 'nested'), { recursive: true, force: true });
  },
  async appliedMigrations() {
    return withFile(path, (db) =>
      db
        .prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version')
        .all()
        .map((row) => ({ version: Number(row.version), appliedAt: String(row.applied_at) })),
    );
  },
});

describeVersionStoreConformance('sqlite', {
  open: () => SqliteEventStore.open({ path: join(dir, 'versions.db') }),
});

describeRegistryConformance('sqlite', {
  open: () => SqliteEventStore.open({ path: join(dir, 'registry.db') }),
});

describeTranscriptStoreConformance('sqlite', {
  async open() {
    const store = await SqliteEventStore.open({ path: join(dir, 'transcripts.db') });
    return { ops: transcriptOps(store), close: () => store.close() };
  },
});

describe('SQLite store specifics', () => {
  it('opens through openEventStore, creating parent folders, with synchronous normal', async () => {
    const file = join(dir, 'a', 'b', 'c.db');
    const store = await openEventStore({ kind: 'sqlite', path: file, synchronous: 'normal' });
    expect(store.kind).toBe('sqlite');
    const id = sessionId();
    await store.append(id, events(2));
    await store.close();
    const again = await SqliteEventStore.open({ path: file });
    expect(await again.lastSeq(id)).toBe(2);
    expect(again.state).toBe('open');
    await again.close();
    expect(again.state).toBe('closed');
  });

  it('rejects an invalid configuration with every problem at once', async () => {
    const error = await rejection(
      openEventStore({ kind: 'sqlite', path: '', synchronous: 'off', extra: 1 } as never),
      'CONFIG_INVALID',
    );
    const fields = (error.details.problems as Array<{ field: string }>).map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['store.path', 'store.synchronous', 'store']));
    await rejection(openEventStore({ kind: 'mysql', url: 'x' } as never), 'CONFIG_INVALID');
  });

  it('refuses a database written by a newer schema with STORE_NEWER_SCHEMA', async () => {
    const file = join(dir, 'newer.db');
    await (await SqliteEventStore.open({ path: file })).close();
    withFile(file, (db) => db.exec(`INSERT INTO schema_migrations VALUES (999, 'from the future', 'x')`));
    const error = await rejection(SqliteEventStore.open({ path: file }), 'STORE_NEWER_SCHEMA');
    expect(error.details).toMatchObject({ databaseVersion: 999, knownVersion: SQLITE_MIGRATIONS.at(-1)?.version });
  });

  it('moves the per-blob version references of an older database into reference sets (migration 4), then used beside versions naming roots (migration 8)', async () => {
    const file = join(dir, 'before-4.db');
    const id = sessionId();
    const [kept, shared, gone] = freshBlobs(3);
    if (!kept || !shared || !gone) throw new Error('three blobs expected');
    withFile(file, (db) => {
      db.exec(SQLITE_MIGRATIONS_TABLE);
      for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
        migration.up(db);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, 'then');
      }
      for (const b of [kept, shared, gone]) db.prepare('INSERT INTO blobs VALUES (?, ?)').run(b.hash, b.bytes);
      for (const [version, blobs] of [
        [1, [shared, gone]],
        [2, [shared, kept]],
      ] as const) {
        const v = newVersion(id, blobs, { label: `v${version}` });
        db.prepare('INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
          id,
          version,
          v.seq,
          v.label,
          v.createdAt,
          v.schemaVersion,
          v.checksum,
          v.manifest,
          v.workspaceCommit,
          v.newBytes,
        );
        for (const b of blobs) db.prepare('INSERT INTO version_blobs VALUES (?, ?, ?)').run(id, version, b.hash);
      }
      db.prepare('INSERT INTO version_counters VALUES (?, 2)').run(id);
    });
    const store = await SqliteEventStore.open({ path: file });
    try {
      expect((await store.listVersions(id)).map((v) => v.label)).toEqual(['v1', 'v2']);
      expect(await store.deleteVersions(id, [1])).toBe(1);
      expect(await store.deleteUnreferencedBlobs()).toBe(1);
      const left = await store.getBlobs([kept.hash, shared.hash, gone.hash]);
      expect([...left.keys()].sort()).toEqual([kept.hash, shared.hash].sort());
      expect((await store.putVersion(newVersion(id, [kept, shared]))).version).toBe(3);
      // Then migration 8: a version of this build names a root page that names the rest,
      // beside the reference sets of the older versions, and compaction honours both.
      const [leaf] = freshBlobs(1);
      if (!leaf) throw new Error('one blob expected');
      const root = { ...blob(`root of ${id}`), links: [shared.hash, leaf.hash] };
      await store.putBlobs([leaf, root]);
      expect((await store.putVersion(newVersion(id, [root]))).version).toBe(4);
      expect(await store.deleteUnreferencedBlobs()).toBe(0);
      expect(await store.deleteVersions(id, [2, 3])).toBe(2);
      expect(await store.deleteUnreferencedBlobs()).toBe(1); // kept: only the older versions named it
      const reached = await store.getBlobs([kept.hash, shared.hash, leaf.hash, root.hash]);
      expect([...reached.keys()].sort()).toEqual([shared.hash, leaf.hash, root.hash].sort());
    } finally {
      await store.close();
    }
    const tables = withFile(file, (db) =>
      db.prepare(`SELECT name FROM sqlite_master WHERE name = 'version_blobs'`).all(),
    );
    expect(tables).toEqual([]);
  });

  it('reports a failing migration as STORE_MIGRATION_FAILED and rolls it back', async () => {
    const file = join(dir, 'clash.db');
    withFile(file, (db) => db.exec('CREATE TABLE events (something TEXT)'));
    const error = await rejection(SqliteEventStore.open({ path: file }), 'STORE_MIGRATION_FAILED');
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toContain('migration 1');
    // The whole migration transaction is undone, including the bookkeeping table.
    const tables = withFile(file, (db) =>
      db.prepare(`SELECT name FROM sqlite_master WHERE name IN ('sessions', 'schema_migrations')`).all(),
    );
    expect(tables).toEqual([]);
  });

  it('reports a file that is not a database as STORE_CORRUPT', async () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, 'this is not a database file, just text that is long enough to have a header'.repeat(100));
    await rejection(SqliteEventStore.open({ path: file }), 'STORE_CORRUPT');
  });

  it('reports a path that cannot be opened as STORE_UNAVAILABLE', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where a folder should be');
    await rejection(SqliteEventStore.open({ path: join(blocker, 'events.db') }), 'STORE_UNAVAILABLE');
  });
});

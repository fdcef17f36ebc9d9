import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './migrations.ts';

/**
 * The SQLite schema, as ordered migrations. Tables are STRICT so a value keeps the type it was
 * written with, and `data` is TEXT so the checksum covers the exact stored bytes.
 *
 * `sessions.created_order` gives `listSessions` an exact creation order: creation times tie
 * within a millisecond, and the implicit rowid may be renumbered by VACUUM.
 */
export const SQLITE_MIGRATIONS: readonly Migration<DatabaseSync>[] = [
  {
    version: 1,
    name: 'events and sessions',
    up(db) {
      db.exec(`
        CREATE TABLE sessions (
          session_id TEXT PRIMARY KEY NOT NULL,
          last_seq INTEGER NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          created_order INTEGER NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX sessions_created_order ON sessions (created_order);
        CREATE TABLE events (
          session_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          id TEXT NOT NULL UNIQUE,
          type TEXT NOT NULL,
          ts TEXT NOT NULL,
          source TEXT NOT NULL,
          correlation_id TEXT,
          causation_id TEXT,
          data TEXT NOT NULL,
          checksum INTEGER NOT NULL,
          PRIMARY KEY (session_id, seq)
        ) STRICT;
      `);
    },
  },
];

/** Created before the migrations run, so it is not itself a migration. */
export const SQLITE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`;

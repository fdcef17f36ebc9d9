import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './migrations.ts';
import { refSets } from './version-rows.ts';

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
  {
    version: 2,
    name: 'versions and blobs',
    up(db) {
      // `version_counters` hands out version numbers (never reused, even after deletes);
      // `version_blobs` is the reference table compaction consults before deleting a blob.
      db.exec(`
        CREATE TABLE blobs (
          hash TEXT PRIMARY KEY NOT NULL,
          bytes BLOB NOT NULL
        ) STRICT;
        CREATE TABLE version_counters (
          session_id TEXT PRIMARY KEY NOT NULL,
          last_version INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE versions (
          session_id TEXT NOT NULL,
          version INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          label TEXT,
          created_at TEXT NOT NULL,
          schema_version INTEGER NOT NULL,
          checksum TEXT NOT NULL,
          manifest BLOB NOT NULL,
          workspace_commit TEXT,
          new_bytes INTEGER NOT NULL,
          PRIMARY KEY (session_id, version)
        ) STRICT;
        CREATE TABLE version_blobs (
          session_id TEXT NOT NULL,
          version INTEGER NOT NULL,
          hash TEXT NOT NULL,
          PRIMARY KEY (session_id, version, hash)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX version_blobs_hash ON version_blobs (hash);
      `);
    },
  },
  {
    version: 3,
    name: 'agent transcripts',
    up(db) {
      // One row per transcript key (subpath '' is the main transcript), holding its mtime, so
      // listing sessions and subkeys never scans entries. Entries keep append order by rowid;
      // the partial unique index makes a repeated `uuid` a no-op (`ON CONFLICT DO NOTHING`).
      db.exec(`
        CREATE TABLE transcripts (
          id INTEGER PRIMARY KEY,
          project_key TEXT NOT NULL,
          session_id TEXT NOT NULL,
          subpath TEXT NOT NULL,
          mtime INTEGER NOT NULL,
          UNIQUE (project_key, session_id, subpath)
        ) STRICT;
        CREATE TABLE transcript_entries (
          id INTEGER PRIMARY KEY,
          transcript_id INTEGER NOT NULL,
          uuid TEXT,
          entry TEXT NOT NULL
        ) STRICT;
        CREATE INDEX transcript_entries_order ON transcript_entries (transcript_id, id);
        CREATE UNIQUE INDEX transcript_entries_uuid ON transcript_entries (transcript_id, uuid) WHERE uuid IS NOT NULL;
      `);
    },
  },
  {
    version: 4,
    name: 'version reference sets',
    up(db) {
      // One reference row per blob per version made every version cost more than the whole
      // state; versions now refer to shared, content-addressed sets of blob hashes (see
      // `refSets`), so a version stores only the sets its changes touched.
      db.exec(`
        CREATE TABLE ref_sets (
          id INTEGER PRIMARY KEY,
          digest TEXT NOT NULL UNIQUE
        ) STRICT;
        CREATE TABLE ref_set_blobs (
          ref_set INTEGER NOT NULL,
          hash TEXT NOT NULL,
          PRIMARY KEY (ref_set, hash)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX ref_set_blobs_hash ON ref_set_blobs (hash);
        CREATE TABLE version_ref_sets (
          session_id TEXT NOT NULL,
          version INTEGER NOT NULL,
          ref_set INTEGER NOT NULL,
          PRIMARY KEY (session_id, version, ref_set)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX version_ref_sets_ref_set ON version_ref_sets (ref_set);
      `);
      const findSet = db.prepare('SELECT id FROM ref_sets WHERE digest = ?');
      const addSet = db.prepare('INSERT INTO ref_sets (digest) VALUES (?) RETURNING id');
      const addMembers = db.prepare('INSERT INTO ref_set_blobs (ref_set, hash) SELECT ?, value FROM json_each(?)');
      const use = db.prepare('INSERT INTO version_ref_sets (session_id, version, ref_set) VALUES (?, ?, ?)');
      const versions = db.prepare(
        'SELECT session_id, version, json_group_array(hash) AS hashes FROM version_blobs GROUP BY session_id, version',
      );
      for (const row of versions.all() as Array<{ session_id: string; version: number; hashes: string }>) {
        for (const set of refSets(JSON.parse(row.hashes) as string[])) {
          let found = findSet.get(set.digest) as { id: number } | undefined;
          if (!found) {
            found = addSet.get(set.digest) as { id: number };
            addMembers.run(found.id, JSON.stringify(set.hashes));
          }
          use.run(row.session_id, row.version, found.id);
        }
      }
      db.exec('DROP TABLE version_blobs');
    },
  },
  {
    version: 5,
    name: 'session leases',
    up(db) {
      // One row per session ever leased: `token` is the fencing counter, so a release only
      // marks the row (the next owner gets token + 1) and only deleteSession removes it. No
      // reference to `sessions`: a lease is taken before the session's first event.
      db.exec(`
        CREATE TABLE session_leases (
          session_id TEXT PRIMARY KEY NOT NULL,
          token INTEGER NOT NULL,
          owner_id TEXT NOT NULL,
          host TEXT NOT NULL,
          pid INTEGER NOT NULL,
          acquired_at TEXT NOT NULL,
          expires_at TEXT NOT NULL,
          released INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 6,
    name: 'api keys and registered workflows',
    up(db) {
      // Keys are kept as hashes only; a revoked key stays, for the audit trail naming it.
      // Workflows are versioned per name and never rewritten.
      db.exec(`
        CREATE TABLE api_keys (
          key_id TEXT PRIMARY KEY NOT NULL,
          name TEXT NOT NULL,
          scopes TEXT NOT NULL,
          hash TEXT NOT NULL UNIQUE,
          created_at TEXT NOT NULL,
          revoked_at TEXT
        ) STRICT;
        CREATE TABLE workflows (
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          definition TEXT NOT NULL,
          digest TEXT NOT NULL,
          registered_at TEXT NOT NULL,
          registered_by TEXT NOT NULL,
          PRIMARY KEY (name, version)
        ) STRICT;
      `);
    },
  },
  {
    version: 7,
    name: 'webhooks outbox',
    up(db) {
      // The outbox: one delivery per webhook and event (UNIQUE makes a second enqueue a no-op),
      // enqueued with the session's cursor in one transaction; times are ISO text, which sorts.
      db.exec(`
        CREATE TABLE webhooks (
          webhook_id TEXT PRIMARY KEY NOT NULL,
          url TEXT NOT NULL,
          types TEXT NOT NULL,
          secret TEXT NOT NULL,
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL,
          disabled_at TEXT
        ) STRICT;
        CREATE TABLE webhook_cursors (
          session_id TEXT PRIMARY KEY NOT NULL,
          seq INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE webhook_deliveries (
          delivery_id TEXT PRIMARY KEY NOT NULL,
          webhook_id TEXT NOT NULL,
          event_id TEXT NOT NULL,
          session_id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          event_type TEXT NOT NULL,
          payload TEXT NOT NULL,
          status TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          next_attempt_at TEXT NOT NULL,
          claimed_until TEXT,
          last_status INTEGER,
          last_error TEXT,
          created_at TEXT NOT NULL,
          delivered_at TEXT,
          UNIQUE (webhook_id, event_id)
        ) STRICT;
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
        CREATE INDEX webhook_deliveries_of ON webhook_deliveries (webhook_id, created_at);
      `);
    },
  },
  {
    version: 8,
    name: 'version roots and blob links',
    up(db) {
      // Reference sets still cost a version one row per set and rewrote every set a change
      // touched (hash prefixes scatter a change over all of them). A version now names only
      // its root page, and a page names its children (`links`, a JSON array, stored once with
      // the page): a version stores only what it added. Versions written before keep their
      // reference sets, which compaction still honours.
      db.exec(`
        ALTER TABLE blobs ADD COLUMN links TEXT;
        CREATE TABLE version_roots (
          session_id TEXT NOT NULL,
          version INTEGER NOT NULL,
          hash TEXT NOT NULL,
          PRIMARY KEY (session_id, version, hash)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 9,
    name: 'payload blobs',
    up(db) {
      // The full values of event fields the log shortened, content-addressed, and which
      // sessions reference them (reads go through a session's reference). Apart from `blobs`:
      // pages there are named by their text's hash but stored with a format byte.
      db.exec(`
        CREATE TABLE payload_blobs (
          hash TEXT PRIMARY KEY NOT NULL,
          bytes BLOB NOT NULL
        ) STRICT;
        CREATE TABLE session_payloads (
          session_id TEXT NOT NULL,
          hash TEXT NOT NULL,
          PRIMARY KEY (session_id, hash)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX session_payloads_hash ON session_payloads (hash);
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

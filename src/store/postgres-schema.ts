import type { PoolClient } from 'pg';
import { EVENT_COLUMNS } from './codec.ts';
import type { Migration } from './migrations.ts';
import { refSets } from './version-rows.ts';

/** What a PostgreSQL migration works with: the transaction's connection and the quoted schema. */
export interface PostgresMigrationContext {
  readonly client: PoolClient;
  /** The schema name, already quoted, to prefix table names with. */
  readonly schema: string;
}

/**
 * The PostgreSQL schema, as ordered migrations. `data` is `text`, not `jsonb`, so the checksum
 * covers the exact bytes written; `checksum` is `bigint` because a CRC-32 does not fit `int4`.
 * `sessions.created_order` gives `listSessions` an exact creation order.
 */
export const POSTGRES_MIGRATIONS: readonly Migration<PostgresMigrationContext, Promise<void>>[] = [
  {
    version: 1,
    name: 'events and sessions',
    async up({ client, schema }) {
      await client.query(`
        CREATE TABLE ${schema}.sessions (
          session_id text PRIMARY KEY,
          last_seq bigint NOT NULL,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL,
          created_order bigint GENERATED ALWAYS AS IDENTITY UNIQUE
        );
        CREATE TABLE ${schema}.events (
          session_id text NOT NULL,
          seq bigint NOT NULL,
          id text NOT NULL UNIQUE,
          type text NOT NULL,
          ts text NOT NULL,
          source text NOT NULL,
          correlation_id text,
          causation_id text,
          data text NOT NULL,
          checksum bigint NOT NULL,
          PRIMARY KEY (session_id, seq)
        );
      `);
    },
  },
  {
    version: 2,
    name: 'versions and blobs',
    async up({ client, schema }) {
      // Blobs are compressed already: EXTERNAL storage skips TOAST's futile second compression.
      // `version_counters` hands out version numbers (never reused, even after deletes);
      // `version_blobs` is the reference table compaction consults before deleting a blob.
      await client.query(`
        CREATE TABLE ${schema}.blobs (
          hash text PRIMARY KEY,
          bytes bytea NOT NULL
        );
        ALTER TABLE ${schema}.blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
        CREATE TABLE ${schema}.version_counters (
          session_id text PRIMARY KEY,
          last_version integer NOT NULL
        );
        CREATE TABLE ${schema}.versions (
          session_id text NOT NULL,
          version integer NOT NULL,
          seq bigint NOT NULL,
          label text,
          created_at text NOT NULL,
          schema_version integer NOT NULL,
          checksum text NOT NULL,
          manifest bytea NOT NULL,
          workspace_commit text,
          new_bytes bigint NOT NULL,
          PRIMARY KEY (session_id, version)
        );
        CREATE TABLE ${schema}.version_blobs (
          session_id text NOT NULL,
          version integer NOT NULL,
          hash text NOT NULL,
          PRIMARY KEY (session_id, version, hash),
          FOREIGN KEY (session_id, version) REFERENCES ${schema}.versions ON DELETE CASCADE
        );
        CREATE INDEX version_blobs_hash ON ${schema}.version_blobs (hash);
      `);
    },
  },
  {
    version: 3,
    name: 'agent transcripts',
    async up({ client, schema }) {
      // One row per transcript key (subpath '' is the main transcript), holding its mtime, so
      // listing sessions and subkeys never scans entries. `entry` is text, not jsonb, so an
      // entry reads back exactly as written; the partial unique index makes a repeated `uuid`
      // a no-op (`ON CONFLICT DO NOTHING`).
      await client.query(`
        CREATE TABLE ${schema}.transcripts (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          project_key text NOT NULL,
          session_id text NOT NULL,
          subpath text NOT NULL,
          mtime bigint NOT NULL,
          UNIQUE (project_key, session_id, subpath)
        );
        CREATE TABLE ${schema}.transcript_entries (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          transcript_id bigint NOT NULL REFERENCES ${schema}.transcripts ON DELETE CASCADE,
          uuid text,
          entry text NOT NULL
        );
        CREATE INDEX transcript_entries_order ON ${schema}.transcript_entries (transcript_id, id);
        CREATE UNIQUE INDEX transcript_entries_uuid ON ${schema}.transcript_entries (transcript_id, uuid)
          WHERE uuid IS NOT NULL;
      `);
    },
  },
  {
    version: 4,
    name: 'version reference sets',
    async up({ client, schema }) {
      // One reference row per blob per version made every version cost more than the whole
      // state; versions now refer to shared, content-addressed sets of blob hashes (see
      // `refSets`), so a version stores only the sets its changes touched.
      await client.query(`
        CREATE TABLE ${schema}.ref_sets (
          id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          digest text NOT NULL UNIQUE
        );
        CREATE TABLE ${schema}.ref_set_blobs (
          ref_set bigint NOT NULL REFERENCES ${schema}.ref_sets ON DELETE CASCADE,
          hash text NOT NULL,
          PRIMARY KEY (ref_set, hash)
        );
        CREATE INDEX ref_set_blobs_hash ON ${schema}.ref_set_blobs (hash);
        CREATE TABLE ${schema}.version_ref_sets (
          session_id text NOT NULL,
          version integer NOT NULL,
          ref_set bigint NOT NULL REFERENCES ${schema}.ref_sets,
          PRIMARY KEY (session_id, version, ref_set),
          FOREIGN KEY (session_id, version) REFERENCES ${schema}.versions ON DELETE CASCADE
        );
        CREATE INDEX version_ref_sets_ref_set ON ${schema}.version_ref_sets (ref_set);
      `);
      const versions = await client.query<{ session_id: string; version: number; hashes: string[] }>(
        `SELECT session_id, version, array_agg(hash) AS hashes FROM ${schema}.version_blobs GROUP BY session_id, version`,
      );
      for (const row of versions.rows) {
        for (const set of refSets(row.hashes)) {
          await client.query(
            `WITH s AS (
               INSERT INTO ${schema}.ref_sets (digest) VALUES ($3) ON CONFLICT (digest) DO NOTHING RETURNING id
             ), m AS (
               INSERT INTO ${schema}.ref_set_blobs (ref_set, hash) SELECT s.id, h FROM s, unnest($4::text[]) AS h
             )
             INSERT INTO ${schema}.version_ref_sets (session_id, version, ref_set)
             SELECT $1, $2, coalesce((SELECT id FROM s), (SELECT id FROM ${schema}.ref_sets WHERE digest = $3))`,
            [row.session_id, row.version, set.digest, set.hashes],
          );
        }
      }
      await client.query(`DROP TABLE ${schema}.version_blobs`);
    },
  },
  {
    version: 5,
    name: 'session leases',
    async up({ client, schema }) {
      // One row per session ever leased: `token` is the fencing counter, so a release only
      // marks the row (the next owner gets token + 1) and only deleteSession removes it. No
      // reference to `sessions`: a lease is taken before the session's first event.
      await client.query(`
        CREATE TABLE ${schema}.session_leases (
          session_id text PRIMARY KEY,
          token bigint NOT NULL,
          owner_id text NOT NULL,
          host text NOT NULL,
          pid integer NOT NULL,
          acquired_at timestamptz NOT NULL,
          expires_at timestamptz NOT NULL,
          released boolean NOT NULL
        );
      `);
    },
  },
  {
    version: 6,
    name: 'api keys and registered workflows',
    async up({ client, schema }) {
      // Keys are kept as hashes only; a revoked key stays, for the audit trail naming it.
      // Workflows are versioned per name and never rewritten. Times are the callers' ISO text.
      await client.query(`
        CREATE TABLE ${schema}.api_keys (
          key_id text PRIMARY KEY,
          name text NOT NULL,
          scopes text NOT NULL,
          hash text NOT NULL UNIQUE,
          created_at text NOT NULL,
          revoked_at text
        );
        CREATE TABLE ${schema}.workflows (
          name text NOT NULL,
          version integer NOT NULL,
          definition text NOT NULL,
          digest text NOT NULL,
          registered_at text NOT NULL,
          registered_by text NOT NULL,
          PRIMARY KEY (name, version)
        );
      `);
    },
  },
  {
    version: 7,
    name: 'webhooks outbox',
    async up({ client, schema }) {
      // The outbox: one delivery per webhook and event (UNIQUE makes a second enqueue a no-op),
      // enqueued with the session's cursor in one transaction; times are ISO text, which sorts.
      await client.query(`
        CREATE TABLE ${schema}.webhooks (
          webhook_id text PRIMARY KEY,
          url text NOT NULL,
          types text NOT NULL,
          secret text NOT NULL,
          created_at text NOT NULL,
          created_by text NOT NULL,
          disabled_at text
        );
        CREATE TABLE ${schema}.webhook_cursors (
          session_id text PRIMARY KEY,
          seq bigint NOT NULL
        );
        CREATE TABLE ${schema}.webhook_deliveries (
          delivery_id text PRIMARY KEY,
          webhook_id text NOT NULL,
          event_id text NOT NULL,
          session_id text NOT NULL,
          seq bigint NOT NULL,
          event_type text NOT NULL,
          payload text NOT NULL,
          status text NOT NULL,
          attempts integer NOT NULL,
          next_attempt_at text NOT NULL,
          claimed_until text,
          last_status integer,
          last_error text,
          created_at text NOT NULL,
          delivered_at text,
          UNIQUE (webhook_id, event_id)
        );
        CREATE INDEX webhook_deliveries_due ON ${schema}.webhook_deliveries (status, next_attempt_at);
        CREATE INDEX webhook_deliveries_of ON ${schema}.webhook_deliveries (webhook_id, created_at);
      `);
    },
  },
  {
    version: 8,
    name: 'version roots and blob links',
    async up({ client, schema }) {
      // Reference sets still cost a version one row per set and rewrote every set a change
      // touched (hash prefixes scatter a change over all of them). A version now names only
      // its root page, and a page names its children (`links`, stored once with the page): a
      // version stores only what it added. Versions written before keep their reference sets,
      // which compaction still honours.
      await client.query(`
        ALTER TABLE ${schema}.blobs ADD COLUMN links text[];
        CREATE TABLE ${schema}.version_roots (
          session_id text NOT NULL,
          version integer NOT NULL,
          hash text NOT NULL,
          PRIMARY KEY (session_id, version, hash),
          FOREIGN KEY (session_id, version) REFERENCES ${schema}.versions ON DELETE CASCADE
        );
      `);
    },
  },
  {
    version: 9,
    name: 'payload blobs',
    async up({ client, schema }) {
      // The full values of event fields the log shortened, content-addressed, and which
      // sessions reference them (reads go through a session's reference). Apart from `blobs`:
      // pages there are named by their text's hash but stored with a format byte.
      await client.query(`
        CREATE TABLE ${schema}.payload_blobs (
          hash text PRIMARY KEY,
          bytes bytea NOT NULL
        );
        CREATE TABLE ${schema}.session_payloads (
          session_id text NOT NULL,
          hash text NOT NULL,
          PRIMARY KEY (session_id, hash)
        );
        CREATE INDEX session_payloads_hash ON ${schema}.session_payloads (hash);
      `);
    },
  },
];

/** The statements of the store, for one schema. */
export interface PostgresStatements {
  readonly migrationsTable: string;
  /** $1 text[] sessions; $2 now. Locks every session row of a batch in sorted order, creating missing ones. */
  readonly lockSessions: string;
  /** $1..$10 event column arrays; $11/$12 session ids/last seqs; $13 now; $14 sessions to drop. */
  readonly writeBatch: string;
  readonly read: string;
  readonly lastSeq: string;
  readonly listNewest: string;
  readonly listBefore: string;
  readonly createdOrder: string;
  /** $1 session id. */
  readonly deleteSession: string;
  /** $1 session id. */
  readonly deleteEvents: string;
  /** $1 event ids. The stored rows of these events, for the recheck after a lost connection. */
  readonly eventsById: string;
}

/** Builds the statements for a schema (`schema` must already be quoted). */
export function postgresStatements(schema: string): PostgresStatements {
  const sessions = `${schema}.sessions`;
  const summary = 'session_id, last_seq, created_at, updated_at';
  return {
    migrationsTable: `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    // The no-op DO UPDATE takes the row lock and returns the current last_seq; sorting the
    // input makes concurrent writers lock shared sessions in one order (no deadlock cycle).
    lockSessions: `
      INSERT INTO ${sessions} AS s (session_id, last_seq, created_at, updated_at)
      SELECT sid, 0, $2, $2 FROM unnest($1::text[]) AS sid ORDER BY sid COLLATE "C"
      ON CONFLICT (session_id) DO UPDATE SET last_seq = s.last_seq
      RETURNING session_id, last_seq`,
    // One statement: the multi-row insert, the new last_seq of each session, and the removal
    // of a session row created by this batch whose every append was refused.
    writeBatch: `
      WITH ins AS (
        INSERT INTO ${schema}.events (${EVENT_COLUMNS})
        SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::text[], $10::int8[])
      ), upd AS (
        UPDATE ${sessions} AS s SET last_seq = v.last_seq, updated_at = $13
        FROM unnest($11::text[], $12::int8[]) AS v(session_id, last_seq)
        WHERE s.session_id = v.session_id
      )
      DELETE FROM ${sessions} WHERE session_id = ANY($14::text[]) AND last_seq = 0`,
    read: `SELECT ${EVENT_COLUMNS} FROM ${schema}.events
      WHERE session_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
    lastSeq: `SELECT last_seq FROM ${sessions} WHERE session_id = $1`,
    listNewest: `SELECT ${summary} FROM ${sessions} ORDER BY created_order DESC LIMIT $1`,
    listBefore: `SELECT ${summary} FROM ${sessions} WHERE created_order < $1 ORDER BY created_order DESC LIMIT $2`,
    createdOrder: `SELECT created_order FROM ${sessions} WHERE session_id = $1`,
    deleteSession: `DELETE FROM ${sessions} WHERE session_id = $1`,
    deleteEvents: `DELETE FROM ${schema}.events WHERE session_id = $1`,
    eventsById: `SELECT ${EVENT_COLUMNS} FROM ${schema}.events WHERE id = ANY($1::text[])`,
  };
}

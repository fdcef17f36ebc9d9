import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { OrchestratorEvent, PendingEvent } from '../events/index.ts';
import { checkSessionId, compileListOptions, compileReadOptions, unknownCursor } from './arguments.ts';
import {
  type AppendOutcome,
  type AppendRequest,
  fencedSessionsOf,
  planBatch,
  sessionsOf,
  toAppendRequest,
} from './batch.ts';
import { decodeRow, EVENT_COLUMNS, type RawRow } from './codec.ts';
import { type CompiledSqliteConfig, compileStoreConfig, type SqliteStoreConfig } from './config.ts';
import type { AppendOptions, EventStore, ListSessionsOptions, ReadOptions, SessionSummary } from './event-store.ts';
import { GroupCommit } from './group-commit.ts';
import type { KeyStore } from './key-store.ts';
import type { AcquiredLease, AcquireLeaseOptions, Lease, LeaseOwner, LeaseStore } from './lease-store.ts';
import { guarded, StoreLifecycle, type StoreState } from './lifecycle.ts';
import { migrationFailed, pendingMigrations } from './migrations.ts';
import type { PayloadStore } from './payload-store.ts';
import { sqliteError, sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import { SqliteLeases } from './sqlite-leases.ts';
import { SqlitePayloads } from './sqlite-payloads.ts';
import { SqliteRegistry } from './sqlite-registry.ts';
import { SQLITE_MIGRATIONS, SQLITE_MIGRATIONS_TABLE } from './sqlite-schema.ts';
import { SqliteTranscripts } from './sqlite-transcripts.ts';
import { SqliteVersions } from './sqlite-versions.ts';
import { SqliteWebhooks } from './sqlite-webhooks.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from './transcript-store.ts';
import type { Blob, NewVersion, VersionRecord, VersionStore } from './version-store.ts';
import type { WebhookStore } from './webhook-store.ts';
import type { WorkflowStore } from './workflow-store.ts';

interface Statements {
  readonly lastSeq: StatementSync;
  readonly insertEvent: StatementSync;
  readonly upsertSession: StatementSync;
  readonly read: StatementSync;
  readonly listNewest: StatementSync;
  readonly listBefore: StatementSync;
  readonly createdOrder: StatementSync;
  readonly deleteEvents: StatementSync;
  readonly deleteSession: StatementSync;
  readonly eventsById: StatementSync;
}

/**
 * The embedded store: the event log, session versions, transcripts and session leases in one
 * SQLite file through `node:sqlite`, in WAL mode. Versions, transcripts and leases are
 * delegated to {@link SqliteVersions}, {@link SqliteTranscripts} and {@link SqliteLeases} on
 * the same connection.
 *
 * Several processes may write the same file: each batch runs in `BEGIN IMMEDIATE` (the file's
 * single write lock, waited for up to `busyTimeoutMs`) and reads `sessions.last_seq` inside it,
 * so sequence numbers stay contiguous across writers; a batch with fenced appends reads their
 * sessions' lease tokens inside the same lock, so no acquisition comes between check and
 * commit. `node:sqlite` is synchronous: a write or read blocks the event loop while it runs, and
 * waiting for another process's write lock does too. Left out: sharing an in-memory (`:memory:`) database between instances.
 */
export class SqliteEventStore implements EventStore, VersionStore, TranscriptStore, LeaseStore {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Statements;
  readonly #lifecycle: StoreLifecycle;
  readonly #commit: GroupCommit;
  readonly #versions: SqliteVersions;
  readonly #transcripts: SqliteTranscripts;
  readonly #leases: SqliteLeases;
  readonly #payloads: SqlitePayloads;
  /** Full values of shortened event fields, referenced by sessions. */
  readonly payloads: PayloadStore;
  /** The API keys (hashes) of the HTTP API. */
  readonly keys: KeyStore;
  /** Workflow definitions registered for the HTTP API. */
  readonly workflows: WorkflowStore;
  /** The HTTP API's webhooks and their outbox. */
  readonly webhooks: WebhookStore;

  private constructor(db: DatabaseSync, path: string, full: boolean) {
    this.#db = db;
    this.#path = path;
    this.#lifecycle = new StoreLifecycle(`SQLite (${path})`);
    this.#sql = prepareStatements(db);
    this.#versions = new SqliteVersions(db, path, full);
    this.#transcripts = new SqliteTranscripts(db, path);
    this.#leases = new SqliteLeases(db, path, full);
    this.#payloads = new SqlitePayloads(db, path);
    this.payloads = guarded(this.#lifecycle, this.#payloads, ['putPayloads', 'getPayload', 'listPayloads']);
    const registry = new SqliteRegistry(db, path);
    this.keys = guarded(this.#lifecycle, registry, ['createKey', 'getKey', 'listKeys', 'revokeKey']);
    this.workflows = guarded(this.#lifecycle, registry, ['putWorkflow', 'getWorkflow', 'listWorkflows']);
    this.webhooks = guarded(this.#lifecycle, new SqliteWebhooks(db, path), [
      'createWebhook',
      'listWebhooks',
      'disableWebhook',
      'webhookCursors',
      'enqueueDeliveries',
      'claimDeliveries',
      'recordDelivery',
      'listDeliveries',
    ]);
    this.#commit = new GroupCommit({
      writeBatch: async (requests) => this.#writeBatch(requests),
      readEvents: async (ids) =>
        sqliteRead(path, 'read', () => this.#sql.eventsById.all(JSON.stringify(ids)) as unknown as RawRow[]),
    });
  }

  /**
   * Opens (creating when missing) the database file and brings its schema up to date.
   * @throws OrchestratorError `CONFIG_INVALID`, `STORE_UNAVAILABLE` (cannot open or lock the
   * file), `STORE_CORRUPT` (not a database), `STORE_NEWER_SCHEMA`, `STORE_MIGRATION_FAILED`.
   */
  static async open(options: Omit<SqliteStoreConfig, 'kind'>): Promise<SqliteEventStore> {
    const config = compileStoreConfig({ ...options, kind: 'sqlite' }) as CompiledSqliteConfig;
    const path = config.path === ':memory:' ? config.path : resolve(config.path);
    let db: DatabaseSync | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${config.busyTimeoutMs}`);
      // Takes effect only when the file is new. 16 KiB pages cut the CPU of an append by about a
      // fifth against the 4 KiB default (fewer page splits and WAL frames per event); the log is
      // written sequentially and read in ranges, so large pages cost reads nothing.
      db.exec('PRAGMA page_size = 16384');
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    } catch (error) {
      db?.close();
      throw sqliteError(error, path, 'open');
    }
    try {
      migrate(db, path);
      return new SqliteEventStore(db, path, config.synchronous === 'full');
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** `open`, then `closing` while pending appends flush, then `closed`. */
  get state(): StoreState {
    return this.#lifecycle.state;
  }

  async append(
    sessionId: string,
    events: readonly PendingEvent[],
    options?: AppendOptions,
  ): Promise<OrchestratorEvent[]> {
    this.#lifecycle.assertOpen();
    const request = toAppendRequest(sessionId, events, options);
    if (request.events.length === 0 && request.expectedLastSeq === undefined && request.fencingToken === undefined) {
      return [];
    }
    return this.#commit.submit(request);
  }

  async read(sessionId: string, options?: ReadOptions): Promise<OrchestratorEvent[]> {
    this.#lifecycle.assertOpen();
    checkSessionId(sessionId);
    const { fromSeq, toSeq, limit } = compileReadOptions(options);
    if (toSeq < fromSeq) return [];
    let rows: unknown[];
    try {
      rows = this.#sql.read.all(sessionId, fromSeq, toSeq, limit);
    } catch (error) {
      throw sqliteError(error, this.#path, 'read');
    }
    const events: OrchestratorEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = decodeRow(rows[i] as RawRow, sessionId);
    return events;
  }

  async lastSeq(sessionId: string): Promise<number> {
    this.#lifecycle.assertOpen();
    checkSessionId(sessionId);
    try {
      const row = this.#sql.lastSeq.get(sessionId) as { last_seq: number } | undefined;
      return row?.last_seq ?? 0;
    } catch (error) {
      throw sqliteError(error, this.#path, 'read');
    }
  }

  async listSessions(options?: ListSessionsOptions): Promise<SessionSummary[]> {
    this.#lifecycle.assertOpen();
    const { limit, before } = compileListOptions(options);
    let rows: unknown[];
    try {
      if (before === undefined) {
        rows = this.#sql.listNewest.all(limit);
      } else {
        const cursor = this.#sql.createdOrder.get(before) as { created_order: number } | undefined;
        if (cursor === undefined) throw unknownCursor(before);
        rows = this.#sql.listBefore.all(cursor.created_order, limit);
      }
    } catch (error) {
      throw sqliteError(error, this.#path, 'read');
    }
    return rows.map((row) => {
      const r = row as { session_id: string; last_seq: number; created_at: string; updated_at: string };
      return { sessionId: r.session_id, lastSeq: r.last_seq, createdAt: r.created_at, updatedAt: r.updated_at };
    });
  }

  deleteSession(sessionId: string): Promise<number> {
    return this.#lifecycle.run(async () => {
      checkSessionId(sessionId);
      // Appends queued before the call go first, so they cannot recreate the session after it.
      await this.#commit.drain();
      // The write lock appends also take: no batch of any process interleaves with the delete.
      return sqliteWrite(
        this.#db,
        this.#path,
        'deleteSession',
        () => {
          const deleted = Number(this.#sql.deleteEvents.run(sessionId).changes);
          this.#sql.deleteSession.run(sessionId);
          this.#leases.deleteRow(sessionId);
          this.#payloads.deleteRefs(sessionId);
          return deleted;
        },
        sessionId,
      );
    });
  }

  putBlobs(blobs: readonly Blob[]): Promise<number> {
    return this.#lifecycle.run(() => this.#versions.putBlobs(blobs));
  }

  getBlobs(hashes: readonly string[]): Promise<Map<string, Uint8Array>> {
    return this.#lifecycle.run(() => this.#versions.getBlobs(hashes));
  }

  putVersion(version: NewVersion): Promise<VersionRecord> {
    return this.#lifecycle.run(() => this.#versions.putVersion(version));
  }

  listVersions(sessionId: string): Promise<VersionRecord[]> {
    return this.#lifecycle.run(() => this.#versions.listVersions(sessionId));
  }

  getVersion(sessionId: string, version: number): Promise<VersionRecord | undefined> {
    return this.#lifecycle.run(() => this.#versions.getVersion(sessionId, version));
  }

  deleteVersions(sessionId: string, versions: readonly number[]): Promise<number> {
    return this.#lifecycle.run(() => this.#versions.deleteVersions(sessionId, versions));
  }

  deleteUnreferencedBlobs(): Promise<number> {
    return this.#lifecycle.run(() => this.#versions.deleteUnreferencedBlobs());
  }

  appendTranscript(key: TranscriptKey, entries: readonly TranscriptEntry[]): Promise<void> {
    return this.#lifecycle.run(() => this.#transcripts.appendTranscript(key, entries));
  }

  loadTranscript(key: TranscriptKey): Promise<TranscriptEntry[] | null> {
    return this.#lifecycle.run(() => this.#transcripts.loadTranscript(key));
  }

  listTranscriptSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    return this.#lifecycle.run(() => this.#transcripts.listTranscriptSessions(projectKey));
  }

  deleteTranscript(key: TranscriptKey): Promise<void> {
    return this.#lifecycle.run(() => this.#transcripts.deleteTranscript(key));
  }

  deleteTranscriptSessions(sessionIds: readonly string[]): Promise<number> {
    return this.#lifecycle.run(() => this.#transcripts.deleteTranscriptSessions(sessionIds));
  }

  listTranscriptSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    return this.#lifecycle.run(() => this.#transcripts.listTranscriptSubkeys(key));
  }

  acquireLease(sessionId: string, owner: LeaseOwner, options: AcquireLeaseOptions): Promise<AcquiredLease> {
    return this.#lifecycle.run(() => this.#leases.acquireLease(sessionId, owner, options));
  }

  renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.#lifecycle.run(() => this.#leases.renewLease(lease, ttlMs));
  }

  releaseLease(lease: Lease): Promise<void> {
    return this.#lifecycle.run(() => this.#leases.releaseLease(lease));
  }

  getLease(sessionId: string): Promise<Lease | undefined> {
    return this.#lifecycle.run(() => this.#leases.getLease(sessionId));
  }

  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      try {
        await this.#commit.drain();
      } finally {
        this.#db.close();
      }
    });
  }

  /** One batch, one `BEGIN IMMEDIATE` transaction: the lock makes `last_seq` ours until COMMIT. */
  #writeBatch(requests: readonly AppendRequest[]): AppendOutcome[] {
    const db = this.#db;
    const sql = this.#sql;
    try {
      db.exec('BEGIN IMMEDIATE');
      const current = new Map<string, number>();
      for (const sessionId of sessionsOf(requests)) {
        const row = sql.lastSeq.get(sessionId) as { last_seq: number } | undefined;
        if (row !== undefined) current.set(sessionId, row.last_seq);
      }
      const fenced = fencedSessionsOf(requests);
      const leases = fenced.length === 0 ? undefined : this.#leases.heldTokens(fenced);
      const insert = sql.insertEvent;
      const plan = planBatch(
        requests,
        current,
        (sessionId, seq, e, data, checksum) => {
          insert.run(
            sessionId,
            seq,
            e.id,
            e.type,
            e.ts,
            e.source,
            e.correlationId ?? null,
            e.causationId ?? null,
            data,
            checksum,
          );
        },
        leases,
      );
      const now = new Date().toISOString();
      for (const [sessionId, lastSeq] of plan.lastSeqs) sql.upsertSession.run(sessionId, lastSeq, now, now);
      db.exec('COMMIT');
      return plan.outcomes;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw sqliteError(error, this.#path, 'append', requests.length === 1 ? requests[0]?.sessionId : undefined);
    }
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const where = `SQLite store ${path}`;
  let current: string | undefined;
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec(SQLITE_MIGRATIONS_TABLE);
    const applied = db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((row) => Number((row as { version: number }).version));
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of pendingMigrations(SQLITE_MIGRATIONS, applied, where)) {
      current = `${migration.version} (${migration.name})`;
      migration.up(db);
      record.run(migration.version, migration.name, new Date().toISOString());
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    const mapped = sqliteError(error, path, 'migrate');
    throw mapped.code === 'STORE_UNAVAILABLE' || mapped.code === 'STORE_CORRUPT'
      ? mapped
      : migrationFailed(error, where, current);
  }
}

function prepareStatements(db: DatabaseSync): Statements {
  const read = db.prepare(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
  );
  read.setReturnArrays(true);
  return {
    read,
    lastSeq: db.prepare('SELECT last_seq FROM sessions WHERE session_id = ?'),
    insertEvent: db.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    upsertSession: db.prepare(
      `INSERT INTO sessions (session_id, last_seq, created_at, updated_at, created_order)
       VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(created_order), 0) + 1 FROM sessions))
       ON CONFLICT (session_id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at`,
    ),
    listNewest: db.prepare(
      'SELECT session_id, last_seq, created_at, updated_at FROM sessions ORDER BY created_order DESC LIMIT ?',
    ),
    listBefore: db.prepare(
      `SELECT session_id, last_seq, created_at, updated_at FROM sessions
       WHERE created_order < ? ORDER BY created_order DESC LIMIT ?`,
    ),
    createdOrder: db.prepare('SELECT created_order FROM sessions WHERE session_id = ?'),
    deleteEvents: db.prepare('DELETE FROM events WHERE session_id = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE session_id = ?'),
    eventsById: (() => {
      const byId = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))`);
      byId.setReturnArrays(true);
      return byId;
    })(),
  };
}

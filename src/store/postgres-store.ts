import type pg from 'pg';
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
import { decodeRow, type RawRow } from './codec.ts';
import { type CompiledPostgresConfig, compileStoreConfig, type PostgresStoreConfig } from './config.ts';
import type { AppendOptions, EventStore, ListSessionsOptions, ReadOptions, SessionSummary } from './event-store.ts';
import { GroupCommit } from './group-commit.ts';
import type { KeyStore } from './key-store.ts';
import type { AcquiredLease, AcquireLeaseOptions, Lease, LeaseOwner, LeaseStore } from './lease-store.ts';
import { guarded, StoreLifecycle, type StoreState } from './lifecycle.ts';
import { migrationFailed, pendingMigrations } from './migrations.ts';
import type { PayloadStore } from './payload-store.ts';
import { postgresError, redactUrl, withDefaultUser } from './postgres-errors.ts';
import { PostgresLeases } from './postgres-leases.ts';
import { PostgresPayloads } from './postgres-payloads.ts';
import { inTransaction, pgModule, quietPool, rollback } from './postgres-pool.ts';
import { PostgresRegistry } from './postgres-registry.ts';
import { POSTGRES_MIGRATIONS, type PostgresStatements, postgresStatements } from './postgres-schema.ts';
import { PostgresTranscripts } from './postgres-transcripts.ts';
import { PostgresVersions } from './postgres-versions.ts';
import { PostgresWebhooks } from './postgres-webhooks.ts';
import type { TranscriptEntry, TranscriptKey, TranscriptStore } from './transcript-store.ts';
import type { Blob, NewVersion, VersionRecord, VersionStore } from './version-store.ts';
import type { WebhookStore } from './webhook-store.ts';
import type { WorkflowStore } from './workflow-store.ts';

const INT8_OID = 20;
/** int8 columns (seq, last_seq, checksum) as numbers: every value fits 2^53 by construction. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? Number : pgModule().types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The shared store on PostgreSQL through `pg`: the event log, session versions, transcripts and
 * session leases. A shared pool serves reads, versions, transcripts and leases (delegated to
 * {@link PostgresVersions}, {@link PostgresTranscripts} and {@link PostgresLeases}); a
 * one-connection writer pool group-commits appends.
 *
 * Several stores (processes, machines) may append to one session: a batch first locks its
 * sessions' rows in sorted order with an upsert that returns `last_seq`, so sequence numbers
 * stay contiguous and expectations are checked against committed state; then one statement
 * inserts every event (`unnest` of column arrays) and moves `last_seq`. A batch with fenced
 * appends also reads their sessions' lease rows `FOR SHARE` before planning, one statement, so
 * an acquisition cannot commit between the fencing check and the batch's commit. Left out:
 * LISTEN/NOTIFY of appends, and reconnect backoff (a failed call fails with `STORE_UNAVAILABLE`;
 * the next one reconnects).
 */
export class PostgresEventStore implements EventStore, VersionStore, TranscriptStore, LeaseStore {
  readonly kind = 'postgres';
  readonly #url: string;
  readonly #schema: string;
  readonly #sql: PostgresStatements;
  readonly #readPool: pg.Pool;
  readonly #writePool: pg.Pool;
  readonly #lifecycle: StoreLifecycle;
  readonly #commit: GroupCommit;
  readonly #versions: PostgresVersions;
  readonly #transcripts: PostgresTranscripts;
  readonly #leases: PostgresLeases;
  readonly #payloads: PostgresPayloads;
  /** Full values of shortened event fields, referenced by sessions. */
  readonly payloads: PayloadStore;
  /** The API keys (hashes) of the HTTP API. */
  readonly keys: KeyStore;
  /** Workflow definitions registered for the HTTP API. */
  readonly workflows: WorkflowStore;
  /** The HTTP API's webhooks and their outbox. */
  readonly webhooks: WebhookStore;

  private constructor(config: CompiledPostgresConfig) {
    this.#url = config.url;
    this.#schema = `"${config.schema}"`;
    this.#sql = postgresStatements(this.#schema);
    const base: pg.PoolConfig = {
      connectionString: withDefaultUser(config.url),
      connectionTimeoutMillis: config.connectTimeoutMs,
      application_name: 'ai-orchestrator',
      types: TYPES,
      // A process frozen (SIGSTOP, a paused VM) inside one of our transactions would hold its
      // row locks, and so every other process's appends and leases, for as long as it stays
      // frozen. Our transactions last milliseconds: the server ends such a session after 10 s.
      options: '-c idle_in_transaction_session_timeout=10000',
    };
    this.#readPool = quietPool({ ...base, max: config.maxReadConnections });
    this.#writePool = quietPool({ ...base, max: 1 });
    this.#lifecycle = new StoreLifecycle(`PostgreSQL (${redactUrl(config.url)}, schema ${config.schema})`);
    this.#commit = new GroupCommit({
      writeBatch: (requests) => this.#writeBatch(requests),
      readEvents: (ids) => this.#query<RawRow>('orch_events_by_id', this.#sql.eventsById, [ids], 'array'),
    });
    const shared = { pool: this.#readPool, url: this.#url, schema: this.#schema };
    this.#versions = new PostgresVersions(shared);
    this.#transcripts = new PostgresTranscripts(shared);
    this.#leases = new PostgresLeases(shared);
    this.#payloads = new PostgresPayloads(shared);
    this.payloads = guarded(this.#lifecycle, this.#payloads, ['putPayloads', 'getPayload', 'listPayloads']);
    const registry = new PostgresRegistry(shared);
    this.keys = guarded(this.#lifecycle, registry, ['createKey', 'getKey', 'listKeys', 'revokeKey']);
    this.workflows = guarded(this.#lifecycle, registry, ['putWorkflow', 'getWorkflow', 'listWorkflows']);
    this.webhooks = guarded(this.#lifecycle, new PostgresWebhooks(shared), [
      'createWebhook',
      'listWebhooks',
      'disableWebhook',
      'webhookCursors',
      'enqueueDeliveries',
      'claimDeliveries',
      'recordDelivery',
      'listDeliveries',
    ]);
  }

  /**
   * Connects, creates the schema when missing and brings it up to date.
   * @throws OrchestratorError `CONFIG_INVALID`, `STORE_UNAVAILABLE` (naming the URL without its
   * password), `STORE_NEWER_SCHEMA`, `STORE_MIGRATION_FAILED`.
   */
  static async open(options: Omit<PostgresStoreConfig, 'kind'>): Promise<PostgresEventStore> {
    const config = compileStoreConfig({ ...options, kind: 'postgres' }) as CompiledPostgresConfig;
    const store = new PostgresEventStore(config);
    try {
      await store.#migrate();
      return store;
    } catch (error) {
      await Promise.allSettled([store.#readPool.end(), store.#writePool.end()]);
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
    const rows = await this.#query<RawRow>('orch_read', this.#sql.read, [sessionId, fromSeq, toSeq, limit], 'array');
    const events: OrchestratorEvent[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = decodeRow(rows[i] as RawRow, sessionId);
    return events;
  }

  async lastSeq(sessionId: string): Promise<number> {
    this.#lifecycle.assertOpen();
    checkSessionId(sessionId);
    const rows = await this.#query<{ last_seq: number }>('orch_last_seq', this.#sql.lastSeq, [sessionId]);
    return rows[0]?.last_seq ?? 0;
  }

  async listSessions(options?: ListSessionsOptions): Promise<SessionSummary[]> {
    this.#lifecycle.assertOpen();
    const { limit, before } = compileListOptions(options);
    type Row = { session_id: string; last_seq: number; created_at: Date; updated_at: Date };
    let rows: Row[];
    if (before === undefined) {
      rows = await this.#query<Row>('orch_list_newest', this.#sql.listNewest, [limit]);
    } else {
      const cursor = await this.#query<{ created_order: number }>('orch_created_order', this.#sql.createdOrder, [
        before,
      ]);
      if (cursor[0] === undefined) throw unknownCursor(before);
      rows = await this.#query<Row>('orch_list_before', this.#sql.listBefore, [cursor[0].created_order, limit]);
    }
    return rows.map((r) => ({
      sessionId: r.session_id,
      lastSeq: r.last_seq,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    }));
  }

  deleteSession(sessionId: string): Promise<number> {
    return this.#lifecycle.run(async () => {
      checkSessionId(sessionId);
      // Appends queued before the call go first, so they cannot recreate the session after it.
      await this.#commit.drain();
      const access = { pool: this.#readPool, url: this.#url, schema: this.#schema };
      return inTransaction(access, 'deleteSession', async (client) => {
        // The session row first: appends lock it before writing events, so an append to this
        // session either committed before (and its events go too) or waits and starts anew.
        await client.query({ name: 'orch_delete_session', text: this.#sql.deleteSession, values: [sessionId] });
        const deleted = await client.query({
          name: 'orch_delete_events',
          text: this.#sql.deleteEvents,
          values: [sessionId],
        });
        await this.#leases.deleteRow(client, sessionId);
        await this.#payloads.deleteRefs(client, sessionId);
        return deleted.rowCount ?? 0;
      });
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
        await Promise.allSettled([this.#readPool.end(), this.#writePool.end()]);
      }
    });
  }

  async #query<Row>(name: string, text: string, values: unknown[], rowMode?: 'array'): Promise<Row[]> {
    try {
      const result = await this.#readPool.query({ name, text, values, ...(rowMode && { rowMode }) });
      return result.rows as Row[];
    } catch (error) {
      throw postgresError(error, this.#url, 'read');
    }
  }

  async #connect(pool: pg.Pool, operation: string): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw postgresError(error, this.#url, operation);
    }
  }

  async #migrate(): Promise<void> {
    const where = `PostgreSQL store at ${redactUrl(this.#url)} (schema ${this.#schema})`;
    const client = await this.#connect(this.#writePool, 'open');
    let current: string | undefined;
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      // Stores opening at once queue here instead of racing to create the same tables.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ai-orchestrator:store:${this.#schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await client.query(this.#sql.migrationsTable);
      const applied = await client.query<{ version: number }>(`SELECT version FROM ${this.#schema}.schema_migrations`);
      const versions = applied.rows.map((row) => row.version);
      for (const migration of pendingMigrations(POSTGRES_MIGRATIONS, versions, where)) {
        current = `${migration.version} (${migration.name})`;
        await migration.up({ client, schema: this.#schema });
        await client.query(`INSERT INTO ${this.#schema}.schema_migrations (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      broken = await rollback(client);
      const mapped = postgresError(error, this.#url, 'migrate');
      throw mapped.code === 'STORE_UNAVAILABLE' ? mapped : migrationFailed(error, where, current);
    } finally {
      client.release(broken);
    }
  }

  /** One batch, one transaction: lock sessions, plan in memory, one write statement, commit. */
  async #writeBatch(requests: readonly AppendRequest[]): Promise<AppendOutcome[]> {
    const client = await this.#connect(this.#writePool, 'append');
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const now = new Date().toISOString();
      const sessions = sessionsOf(requests);
      const locked = await client.query<{ session_id: string; last_seq: number }>({
        name: 'orch_lock_sessions',
        text: this.#sql.lockSessions,
        values: [sessions, now],
      });
      const current = new Map<string, number>();
      for (const row of locked.rows) current.set(row.session_id, row.last_seq);
      const fenced = fencedSessionsOf(requests);
      const leases = fenced.length === 0 ? undefined : await this.#leases.heldTokens(client, fenced);
      const cols = {
        sessionIds: [] as string[],
        seqs: [] as number[],
        ids: [] as string[],
        types: [] as string[],
        ts: [] as string[],
        sources: [] as string[],
        correlationIds: [] as (string | null)[],
        causationIds: [] as (string | null)[],
        data: [] as string[],
        checksums: [] as number[],
      };
      const plan = planBatch(
        requests,
        current,
        (sessionId, seq, e, data, checksum) => {
          cols.sessionIds.push(sessionId);
          cols.seqs.push(seq);
          cols.ids.push(e.id);
          cols.types.push(e.type);
          cols.ts.push(e.ts);
          cols.sources.push(e.source);
          cols.correlationIds.push(e.correlationId ?? null);
          cols.causationIds.push(e.causationId ?? null);
          cols.data.push(data);
          cols.checksums.push(checksum);
        },
        leases,
      );
      const untouched = sessions.filter((s) => (current.get(s) ?? 0) === 0 && !plan.lastSeqs.has(s));
      await client.query({
        name: 'orch_write_batch',
        text: this.#sql.writeBatch,
        values: [...Object.values(cols), [...plan.lastSeqs.keys()], [...plan.lastSeqs.values()], now, untouched],
      });
      await client.query('COMMIT');
      return plan.outcomes;
    } catch (error) {
      broken = await rollback(client);
      throw postgresError(error, this.#url, 'append', requests.length === 1 ? requests[0]?.sessionId : undefined);
    } finally {
      client.release(broken);
    }
  }
}

/**
 * The durable store: the `EventStore` (event log), `VersionStore` (session versions),
 * `TranscriptStore` (agents' SDK transcripts), `LeaseStore` (one owner per session, with
 * fencing tokens), `KeyStore` (API keys, hashed), `WorkflowStore` (registered workflow
 * definitions) and `WebhookStore` (webhooks and their durable outbox) contracts and their two backends, SQLite (embedded, the default) and
 * PostgreSQL (shared by many machines), both with group commit, per-row checksums and
 * versioned migrations.
 */

export { MAX_READ_LIMIT, MAX_SESSION_ID_LENGTH, MAX_SUBPATH_LENGTH } from './arguments.ts';
export { handPayloadTexts, takePayloadTexts } from './codec.ts';
export type { EventStoreConfig, PostgresStoreConfig, SqliteStoreConfig } from './config.ts';
export type { AppendOptions, EventStore, ListSessionsOptions, ReadOptions, SessionSummary } from './event-store.ts';
export type { ApiKeyRecord, KeyStore, NewApiKey } from './key-store.ts';
export { leaseIsLive, pidAlive } from './lease-liveness.ts';
export { sessionBusy } from './lease-rows.ts';
export type { AcquiredLease, AcquireLeaseOptions, Lease, LeaseOwner, LeaseStore } from './lease-store.ts';
export type { StoreState } from './lifecycle.ts';
export { type OrchestratorStore, openEventStore } from './open.ts';
export type { PayloadBlob, PayloadStore } from './payload-store.ts';
export { PostgresEventStore } from './postgres-store.ts';
export { SqliteEventStore } from './sqlite-store.ts';
export type { TranscriptEntry, TranscriptKey, TranscriptStore } from './transcript-store.ts';
export type { Blob, NewVersion, VersionRecord, VersionStore } from './version-store.ts';
export type {
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryStatus,
  NewDelivery,
  WebhookRecord,
  WebhookStore,
} from './webhook-store.ts';
export type { NewWorkflow, StoredWorkflow, WorkflowStore } from './workflow-store.ts';

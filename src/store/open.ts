import { compileStoreConfig, type EventStoreConfig } from './config.ts';
import type { EventStore } from './event-store.ts';
import type { KeyStore } from './key-store.ts';
import type { LeaseStore } from './lease-store.ts';
import type { PayloadStore } from './payload-store.ts';
import { PostgresEventStore } from './postgres-store.ts';
import { SqliteEventStore } from './sqlite-store.ts';
import type { TranscriptStore } from './transcript-store.ts';
import type { VersionStore } from './version-store.ts';
import type { WebhookStore } from './webhook-store.ts';
import type { WorkflowStore } from './workflow-store.ts';

/**
 * Everything one backend keeps durable, behind one set of connections and one `close()`: the
 * event log, the session versions, the agents' SDK transcripts and the session leases. The
 * contracts have disjoint method names, so one object implements them all; collaborators
 * should still take only the contract they use (the sessions layer a `VersionStore`, the log an
 * `EventStore`, the SDK adapter a `TranscriptStore`, the session runner a `LeaseStore` and the
 * `EventStore` it appends to with its fencing token). The HTTP API's own tables are properties:
 * `keys` (API keys, hashed), `workflows` (registered definitions) and `webhooks` (and their outbox);
 * so are `payloads`, the full values of event fields the log shortened.
 */
export type OrchestratorStore = EventStore &
  VersionStore &
  TranscriptStore &
  LeaseStore & {
    readonly keys: KeyStore;
    readonly workflows: WorkflowStore;
    readonly webhooks: WebhookStore;
    readonly payloads: PayloadStore;
  };

/**
 * Opens the store a configuration names, with its schema migrated to the current version.
 * @example
 * const store = await openEventStore({ kind: 'sqlite', path: '.orchestrator/events.db' });
 * @throws OrchestratorError `CONFIG_INVALID`, `STORE_UNAVAILABLE`, `STORE_CORRUPT`,
 * `STORE_NEWER_SCHEMA`, `STORE_MIGRATION_FAILED`.
 */
export async function openEventStore(config: EventStoreConfig): Promise<OrchestratorStore> {
  const compiled = compileStoreConfig(config);
  return compiled.kind === 'postgres' ? PostgresEventStore.open(compiled) : SqliteEventStore.open(compiled);
}

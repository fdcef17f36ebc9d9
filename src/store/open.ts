import { compileStoreConfig, type EventStoreConfig } from './config.ts';
import type { EventStore } from './event-store.ts';
import { PostgresEventStore } from './postgres-store.ts';
import { SqliteEventStore } from './sqlite-store.ts';

/**
 * Opens the event store a configuration names, with its schema migrated to the current version.
 * @example
 * const store = await openEventStore({ kind: 'sqlite', path: '.orchestrator/events.db' });
 * @throws OrchestratorError `CONFIG_INVALID`, `STORE_UNAVAILABLE`, `STORE_CORRUPT`,
 * `STORE_NEWER_SCHEMA`, `STORE_MIGRATION_FAILED`.
 */
export async function openEventStore(config: EventStoreConfig): Promise<EventStore> {
  const compiled = compileStoreConfig(config);
  return compiled.kind === 'postgres' ? PostgresEventStore.open(compiled) : SqliteEventStore.open(compiled);
}

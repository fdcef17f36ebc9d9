import type { EventStore, LeaseStore } from '../../../src/store/index.ts';

/** What the suite exercises: the event log and the session leases that fence its appends. */
export type ConformanceStore = EventStore & LeaseStore;

/** How a backend plugs into {@link describeEventStoreConformance}. */
export interface EventStoreConformanceOptions {
  /** Opens a new store instance on the suite's database (the same database on every call). */
  open(): Promise<ConformanceStore>;
  /** Opens the database again after a close, to check durability. @default open */
  reopen?(): Promise<ConformanceStore>;
  /**
   * Damages one stored row behind the store's back: `checksum` changes the payload to other
   * valid JSON; `truncate` cuts the payload text in half.
   */
  corruptRow(sessionId: string, seq: number, how: 'checksum' | 'truncate'): Promise<void>;
  /** Removes the suite's database; called once after the last spec. */
  cleanup(): Promise<void>;
  /** The rows of `schema_migrations`; without it the idempotence spec checks data only. */
  appliedMigrations?(): Promise<Array<{ version: number; appliedAt: string }>>;
}

/** What each spec file receives: the options, plus opening that closes stores after each test. */
export interface ConformanceContext {
  readonly options: EventStoreConformanceOptions;
  /** Opens a store that the suite closes after the current test. */
  open(): Promise<ConformanceStore>;
  /** Like {@link open}, through `options.reopen` when given. */
  reopen(): Promise<ConformanceStore>;
}

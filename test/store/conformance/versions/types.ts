import type { EventStore, PayloadStore, VersionStore } from '../../../../src/store/index.ts';

/**
 * A version store that can be closed (every backend's store is), with the payload blobs that
 * share its compaction and the `deleteSession` that drops a session's references to them.
 */
export type ClosableVersionStore = VersionStore &
  Pick<EventStore, 'append' | 'deleteSession'> & { readonly payloads: PayloadStore; close(): Promise<void> };

/** How a backend plugs into {@link describeVersionStoreConformance}. */
export interface VersionStoreConformanceOptions {
  /** Opens a new store instance on the suite's database (the same database on every call). */
  open(): Promise<ClosableVersionStore>;
  /** Opens the database again after a close, to check durability. @default open */
  reopen?(): Promise<ClosableVersionStore>;
  /** Removes the suite's database; called once after the last spec. @default nothing */
  cleanup?(): Promise<void>;
}

/** What each spec file receives: opening stores that the suite closes after each test. */
export interface VersionConformanceContext {
  readonly options: VersionStoreConformanceOptions;
  open(): Promise<ClosableVersionStore>;
  reopen(): Promise<ClosableVersionStore>;
}

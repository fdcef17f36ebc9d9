import type { TranscriptEntry } from '../../../../src/store/index.ts';

/** A transcript key in the SDK's terms (`SessionKey`). */
export interface Key {
  projectKey: string;
  sessionId: string;
  subpath?: string;
}

/**
 * The operations under test, named as in the SDK's `SessionStore` (which the adapter is, and
 * which {@link transcriptOps} makes of a `TranscriptStore` by renaming its methods).
 */
export interface TranscriptOps {
  append(key: Key, entries: TranscriptEntry[]): Promise<void>;
  load(key: Key): Promise<TranscriptEntry[] | null>;
  listSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>>;
  delete(key: Key): Promise<void>;
  listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]>;
  /**
   * The store's `deleteTranscriptSessions` (retention), which the SDK's `SessionStore` has no
   * name for: absent on the adapter, whose run skips its spec.
   */
  deleteSessions?(sessionIds: string[]): Promise<number>;
}

/** One opened instance: the operations and how to close what backs them. */
export interface OpenedTranscripts {
  readonly ops: TranscriptOps;
  close(): Promise<void>;
}

/** How a backend (or an adapter over one) plugs into {@link describeTranscriptStoreConformance}. */
export interface TranscriptConformanceOptions {
  /** Opens a new instance on the suite's database (the same database on every call). */
  open(): Promise<OpenedTranscripts>;
  /** Opens the database again after a close, to check durability. @default open */
  reopen?(): Promise<OpenedTranscripts>;
  /** Removes the suite's database; called once after the last spec. @default nothing */
  cleanup?(): Promise<void>;
}

/** What each spec file receives: opening instances that the suite closes after each test. */
export interface TranscriptConformanceContext {
  readonly options: TranscriptConformanceOptions;
  open(): Promise<TranscriptOps>;
  /** Opens an instance and also returns how to close it (for durability checks). */
  openClosable(): Promise<OpenedTranscripts>;
  reopen(): Promise<TranscriptOps>;
  /** A project-key prefix no other test uses: the suite shares one database. */
  project(name: string): string;
}

/** A stored version of a session: a snapshot of its projected state at a sequence number. */
export interface VersionRecord {
  readonly sessionId: string;
  /** 1, 2, 3, ... per session, assigned by the store on {@link VersionStore.putVersion}. */
  readonly version: number;
  /** The log position the snapshot reflects: replaying events after it gives the present. */
  readonly seq: number;
  readonly label: string | null;
  /** ISO time the version was taken. */
  readonly createdAt: string;
  /** Format of the snapshot; older formats are migrated on load, unknown ones refused. */
  readonly schemaVersion: number;
  /**
   * SHA-256 (hex) over the whole state: the root of the snapshot's Merkle tree of pages and
   * chunks (see src/sessions); verified on every load. Opaque to the store.
   */
  readonly checksum: string;
  /** The snapshot's table of contents (the sessions layer's encoding: its tree's root and depth). Opaque to the store. */
  readonly manifest: Uint8Array;
  /** Git commit of the session workspace when the version was taken, if it has one. */
  readonly workspaceCommit: string | null;
  /** Bytes of blobs this version added (the rest it shares with earlier versions). */
  readonly newBytes: number;
}

/**
 * A version to store: everything but the number the store assigns, plus the hashes of the
 * blobs it names (the store keeps them, and every blob reachable from them through
 * {@link Blob.links}, while the version exists). The sessions layer names only the root page
 * of the version's tree; a caller whose blobs carry no links names every blob.
 */
export type NewVersion = Omit<VersionRecord, 'version'> & { readonly blobHashes: readonly string[] };

/** A content-addressed blob: its SHA-256 (hex) and its (compressed) bytes. */
export interface Blob {
  readonly hash: string;
  readonly bytes: Uint8Array;
  /**
   * The blobs this one names (a page's children): kept while this blob is kept, and stored
   * before it (`putBlobs` refuses a blob whose links are not all stored or in the same call).
   * Content-addressed, so they are part of the blob: a blob stored without them (by an import
   * or an older build) gets them when put again with them.
   */
  readonly links?: readonly string[] | undefined;
}

/**
 * Snapshots of sessions, stored as content-addressed blobs plus a small manifest per version,
 * so storage grows with what changed between versions, not with versions times state size.
 *
 * Guarantees: `putBlobs` is idempotent (a blob already present is left alone); `putVersion`
 * assigns the next version number of the session atomically, also with several writers, and
 * never reuses a number (even after deletes); a version is only written if every blob it names
 * is stored (else `INVALID_ARGUMENT`, retryable: a compaction between `putBlobs` and
 * `putVersion` may have removed them); compaction never deletes a blob a remaining version
 * names or reaches through links. Left out: verifying contents (the sessions layer checks checksums), and deleting
 * events (versions never own events).
 */
export interface VersionStore {
  /** Stores blobs that are not there yet (and links missing from stored ones); returns how many bytes were new. */
  putBlobs(blobs: readonly Blob[]): Promise<number>;
  /** The blobs that exist among `hashes` (missing ones are absent from the map). */
  getBlobs(hashes: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** Stores a version and returns it with its number. */
  putVersion(version: NewVersion): Promise<VersionRecord>;
  /** Versions of a session, oldest first. */
  listVersions(sessionId: string): Promise<VersionRecord[]>;
  /** One version, or undefined. */
  getVersion(sessionId: string, version: number): Promise<VersionRecord | undefined>;
  /** Deletes versions of a session; returns how many were deleted. */
  deleteVersions(sessionId: string, versions: readonly number[]): Promise<number>;
  /**
   * Deletes blobs no version refers to (compaction), and payload blobs no session references
   * (see `PayloadStore`, which the same stores implement); returns how many were deleted.
   */
  deleteUnreferencedBlobs(): Promise<number>;
}

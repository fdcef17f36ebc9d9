/** A payload blob: the SHA-256 (hex) of its bytes, and the bytes (an event field's full JSON text, UTF-8). */
export interface PayloadBlob {
  readonly hash: string;
  readonly bytes: Uint8Array;
}

/**
 * The full values of event fields the log shortened (see src/log `PayloadLimits`), kept as
 * content-addressed blobs that sessions reference.
 *
 * Guarantees: a blob is stored once whatever how many sessions reference it, and only under
 * the SHA-256 of its bytes (the store computes it and refuses a blob that does not match, so a
 * caller cannot plant bytes under another value's hash); `putPayloads` stores blobs and the
 * session's references to them atomically and is idempotent; `getPayload` returns bytes only
 * through a session that references the hash (knowing a hash of another session's payload
 * reads nothing); compaction (`deleteUnreferencedBlobs` of the version store) keeps every blob
 * a session references; deleting a session (`deleteSession`) drops its references.
 *
 * Kept apart from the version store's `blobs` table on purpose: a page there is named by the
 * SHA-256 of its text but stored with a format byte (and deflated when long), so a payload
 * whose text equals a page's would share its hash and not its bytes.
 */
export interface PayloadStore {
  /** Stores blobs not stored yet and references them from the session; returns how many bytes were new. */
  putPayloads(sessionId: string, payloads: readonly PayloadBlob[]): Promise<number>;
  /** The bytes of a payload the session references, or undefined (unknown hash, or another session's). */
  getPayload(sessionId: string, hash: string): Promise<Uint8Array | undefined>;
  /** The hashes the session references, sorted (what an export carries). */
  listPayloads(sessionId: string): Promise<string[]>;
}

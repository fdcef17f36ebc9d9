/** An API key as stored: its hash, never the key itself. */
export interface ApiKeyRecord {
  /** The key's public id (part of the key; shown in listings and audit events). */
  readonly keyId: string;
  /** What the operator called it. */
  readonly name: string;
  /** What it may do (`read`, `run`, `approve`, `admin`). */
  readonly scopes: readonly string[];
  /** SHA-256 (hex) of the whole key. Opaque to the store. */
  readonly hash: string;
  /** ISO time it was created. */
  readonly createdAt: string;
  /** ISO time it was revoked, or null while it is valid. */
  readonly revokedAt: string | null;
}

/** A key to store (it is created valid). */
export type NewApiKey = Omit<ApiKeyRecord, 'revokedAt'>;

/**
 * API keys of the HTTP API, kept as hashes. Guarantees: a key id is stored once (a second
 * `createKey` with it fails with `INVALID_ARGUMENT` and changes nothing); a revocation is for
 * good (`revokeKey` again keeps the first time) and is seen by every later `getKey` of any
 * process sharing the store. Left out: deleting keys (revoked ones stay listed, for the audit
 * trail that names them), and remembering when a key was last used (a write per request).
 */
export interface KeyStore {
  /**
   * Stores a new key.
   * @throws OrchestratorError `INVALID_ARGUMENT` (a bad field, or a key id already stored), `STORE_CLOSED`, `STORE_UNAVAILABLE`
   */
  createKey(key: NewApiKey): Promise<ApiKeyRecord>;
  /** One key, revoked or not; undefined when no key has that id. */
  getKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, revoked ones included, oldest first. */
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes a key at `at` (ISO time); returns it as stored now, or undefined when no key has that id. */
  revokeKey(keyId: string, at: string): Promise<ApiKeyRecord | undefined>;
}

import { OrchestratorError } from '../errors/index.ts';
import { apiKeyId, apiKeyMatches, type KeyScope, scopeAllows } from '../security/index.ts';
import type { ApiKeyRecord, KeyStore } from '../store/index.ts';

/** Who a request acts for. */
export interface Principal {
  /** The key's id; `local` for the keyless loopback mode. */
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** How audit events name it (`by` of control requests and registrations): `api:<key id>:<name>`. */
  readonly by: string;
}

/** The principal of a server on loopback with no API key configured (see {@link KeyAuthenticator}). */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  keyId: 'local',
  name: 'local',
  scopes: Object.freeze(['admin']),
  by: 'api:local',
});

/** How long a key's record is trusted before it is read again (a revocation elsewhere lands within this). */
const RECORD_TTL_MS = 1000;

/**
 * Checks `Authorization: Bearer <key>` against the store's hashed keys. Records are cached for a
 * second, so a busy client costs one hash per request and a revocation by another process (the
 * CLI) takes effect within a second.
 *
 * With no valid key in the store, a server bound to loopback lets requests without a key act as
 * `local` (every scope): the "loopback by default" for a fresh install, where only this
 * machine can connect. Creating the first key ends that mode within a second. A server bound
 * elsewhere never has it (and refuses to start without keys, see `serve`).
 */
export class KeyAuthenticator {
  readonly #keys: KeyStore;
  readonly #loopback: boolean;
  readonly #now: () => number;
  readonly #records = new Map<string, { record: ApiKeyRecord | undefined; at: number }>();
  #anyValid: { value: boolean; at: number } | undefined;

  constructor(options: { keys: KeyStore; loopback: boolean; now?: () => number }) {
    this.#keys = options.keys;
    this.#loopback = options.loopback;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The principal of a request's `Authorization` header.
   * @throws OrchestratorError `API_UNAUTHENTICATED` for a missing (unless in the keyless loopback mode), malformed, unknown or revoked key
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') {
      if (this.#loopback && !(await this.anyValidKey())) return LOCAL_PRINCIPAL;
      throw unauthenticated('send an API key: Authorization: Bearer orch_...', 'missing');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <API key>"', 'malformed');
    const token = match[1] as string;
    const keyId = apiKeyId(token);
    if (keyId === undefined) throw unauthenticated('that is not an API key of this orchestrator', 'malformed');
    const record = await this.#record(keyId);
    if (record === undefined || !apiKeyMatches(token, record.hash)) {
      throw unauthenticated('unknown API key', 'unknown');
    }
    if (record.revokedAt !== null) {
      throw unauthenticated(`API key ${record.keyId} (${record.name}) was revoked at ${record.revokedAt}`, 'revoked');
    }
    return { keyId: record.keyId, name: record.name, scopes: record.scopes, by: `api:${record.keyId}:${record.name}` };
  }

  /**
   * @throws OrchestratorError `API_FORBIDDEN` unless the principal holds `scope` (or `admin`)
   */
  authorize(principal: Principal, scope: KeyScope): void {
    if (scopeAllows(principal.scopes, scope)) return;
    throw new OrchestratorError(
      'API_FORBIDDEN',
      `API key ${principal.keyId} (${principal.name}) lacks the "${scope}" scope this route needs (it has ${principal.scopes.join(', ')})`,
      { details: { scope, keyId: principal.keyId, scopes: [...principal.scopes] } },
    );
  }

  /** True when the store holds at least one key that is not revoked (cached for a second). */
  async anyValidKey(): Promise<boolean> {
    const now = this.#now();
    if (this.#anyValid && now - this.#anyValid.at < RECORD_TTL_MS) return this.#anyValid.value;
    const value = (await this.#keys.listKeys()).some((key) => key.revokedAt === null);
    this.#anyValid = { value, at: now };
    return value;
  }

  /** Forgets cached records (after this process created or revoked a key). */
  forget(): void {
    this.#records.clear();
    this.#anyValid = undefined;
  }

  async #record(keyId: string): Promise<ApiKeyRecord | undefined> {
    const now = this.#now();
    const cached = this.#records.get(keyId);
    if (cached && now - cached.at < RECORD_TTL_MS) return cached.record;
    const record = await this.#keys.getKey(keyId);
    // Bounded: ids that are not keys are cached only while few, so random ids cannot grow it.
    if (record !== undefined || this.#records.size < 10_000) this.#records.set(keyId, { record, at: now });
    return record;
  }
}

function unauthenticated(message: string, reason: 'missing' | 'malformed' | 'unknown' | 'revoked'): OrchestratorError {
  return new OrchestratorError('API_UNAUTHENTICATED', message, { details: { reason } });
}

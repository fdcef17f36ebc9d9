import { OrchestratorError } from '../errors/index.ts';
import { checkSafeName, generateApiKey, type KeyScope, parseScopes } from '../security/index.ts';
import type { ApiKeyRecord, KeyStore } from '../store/index.ts';

/** A key as listed: everything but its hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

/** A key just created: the key itself (shown once) and its record. */
export interface CreatedApiKey {
  /** The key: give it to the client; it cannot be shown again. */
  readonly key: string;
  readonly info: ApiKeyInfo;
}

/**
 * Creates an API key with a name and scopes, and stores its hash.
 * @throws OrchestratorError `INVALID_ARGUMENT` (a name that is not a safe name, an unknown scope)
 */
export async function createApiKey(
  keys: KeyStore,
  request: { name: string; scopes: string | readonly string[] },
): Promise<CreatedApiKey> {
  const name = checkSafeName(request.name, 'name');
  const scopes: KeyScope[] = parseScopes(request.scopes, 'scopes');
  const generated = generateApiKey();
  const record = await keys.createKey({
    keyId: generated.keyId,
    name,
    scopes,
    hash: generated.hash,
    createdAt: new Date().toISOString(),
  });
  return { key: generated.token, info: infoOf(record) };
}

/** Every key, revoked ones included, oldest first, without hashes. */
export async function listApiKeys(keys: KeyStore): Promise<ApiKeyInfo[]> {
  return (await keys.listKeys()).map(infoOf);
}

/**
 * Revokes a key for good; a second revocation keeps the first time.
 * @throws OrchestratorError `API_KEY_NOT_FOUND`
 */
export async function revokeApiKey(keys: KeyStore, keyId: string): Promise<ApiKeyInfo> {
  if (!/^[0-9a-f]{12}$/.test(keyId)) throw notFound(keyId);
  const record = await keys.revokeKey(keyId, new Date().toISOString());
  if (record === undefined) throw notFound(keyId);
  return infoOf(record);
}

function notFound(keyId: string): OrchestratorError {
  return new OrchestratorError('API_KEY_NOT_FOUND', `no API key "${keyId}" (see orchestrator keys list)`, {
    details: { keyId },
  });
}

function infoOf(record: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...info } = record;
  return info;
}

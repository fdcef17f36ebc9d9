import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OrchestratorError } from '../errors/index.ts';

/**
 * API keys of the HTTP API. A key is `orch_<id>_<secret>`: the id (12 hex digits) is public
 * and finds the stored record; the secret is 32 random bytes. The store keeps only the SHA-256
 * of the whole key, which is enough for a value with 256 bits of entropy (no password
 * stretching needed: nobody can guess it), so a leaked store reveals no key. The `orch_` prefix
 * lets secret scanners recognize a key pasted somewhere it should not be.
 */

/** Scopes a key may hold. `admin` implies the others. */
export const KEY_SCOPES = ['read', 'run', 'approve', 'admin'] as const;

/** One scope. */
export type KeyScope = (typeof KEY_SCOPES)[number];

const KEY_PATTERN = /^orch_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A new key: what to show the operator once, and what to store. */
export interface GeneratedKey {
  /** The key itself: shown once, never stored. */
  readonly token: string;
  readonly keyId: string;
  /** SHA-256 (hex) of the key, the only form stored. */
  readonly hash: string;
}

/** Makes a new random key. */
export function generateApiKey(): GeneratedKey {
  const keyId = randomBytes(6).toString('hex');
  const token = `orch_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { token, keyId, hash: hashApiKey(token) };
}

/** The stored form of a key. */
export function hashApiKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The key id of a well-formed key, or undefined for anything else. */
export function apiKeyId(token: string): string | undefined {
  return KEY_PATTERN.exec(token)?.[1];
}

/** True when `token` hashes to `hash`, compared in constant time. */
export function apiKeyMatches(token: string, hash: string): boolean {
  const given = Buffer.from(hashApiKey(token), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/**
 * Checks and normalizes scopes (`read,run` from a flag, or a list).
 * @throws OrchestratorError `INVALID_ARGUMENT` naming an unknown scope and the known ones
 */
export function parseScopes(value: string | readonly string[], field = 'scopes'): KeyScope[] {
  const names = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `${field}: give at least one of ${KEY_SCOPES.join(', ')}`, {
      details: { field },
    });
  }
  for (const name of names) {
    if (!(KEY_SCOPES as readonly string[]).includes(name)) {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        `${field}: unknown scope "${name}"; the scopes are ${KEY_SCOPES.join(', ')}`,
        { details: { field, scope: name } },
      );
    }
  }
  return [...new Set(names)] as KeyScope[];
}

/** True when a key with `scopes` may do what `needed` allows (`admin` may do everything). */
export function scopeAllows(scopes: readonly string[], needed: KeyScope): boolean {
  return scopes.includes(needed) || scopes.includes('admin');
}

import { z } from 'zod';
import { API_SCOPES } from './common.ts';
import { route } from './route.ts';

/** Who a key is (`GET /v1/whoami`) and the keys themselves (admin: create, list, revoke). */

const keyId = z.string().regex(/^[0-9a-f]{12}$/, 'a key id (12 hex digits, as `keys list` shows it)');

/** A key as listed: never its secret nor its hash. */
export const keyView = z.object({
  keyId: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

/** What one scope lets a key do, in words and as the routes it opens. */
export const scopeGrant = z.object({
  scope: z.enum(API_SCOPES),
  allowed: z.boolean(),
  /** What the scope is for, in a sentence (the reason shown beside a disabled button). */
  means: z.string(),
});

export const whoami = route({
  method: 'GET',
  path: '/v1/whoami',
  operationId: 'whoami',
  summary: 'The calling key: its id, name, scopes and what they allow',
  description:
    'Any valid key may ask. `local` is the keyless mode of a loopback server with no key in its store (every scope). `by` is how the audit names what the key does.',
  tag: 'keys',
  scope: 'any',
  response: z.object({
    keyId: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    by: z.string().describe('How audit events name it: `api:<key id>:<name>`'),
    local: z.boolean().describe('The keyless loopback mode: no key in the store, this machine only'),
    allows: z.array(scopeGrant).describe('Each scope, whether this key holds it (`admin` holds all)'),
  }),
});

export const createKey = route({
  method: 'POST',
  path: '/v1/keys',
  operationId: 'createKey',
  summary: 'Create an API key; the answer holds the key itself, shown this once',
  description:
    'The store keeps only its SHA-256: the key cannot be shown again, by this route or any other. The same store as `orchestrator keys create`.',
  tag: 'keys',
  scope: 'admin',
  body: z.strictObject({
    name: z.string().min(1).max(128).describe('What the key is for (a safe name; named in the audit)'),
    scopes: z.array(z.enum(API_SCOPES)).min(1).max(4),
  }),
  status: 201,
  response: keyView.extend({ key: z.string().describe('orch_<id>_<secret>: give it to the client now') }),
});

export const listKeys = route({
  method: 'GET',
  path: '/v1/keys',
  operationId: 'listKeys',
  summary: 'Every API key, revoked ones included, oldest first (never a key nor its hash)',
  tag: 'keys',
  scope: 'admin',
  response: z.object({ keys: z.array(keyView) }),
});

export const revokeKey = route({
  method: 'DELETE',
  path: '/v1/keys/:id',
  operationId: 'revokeKey',
  summary: 'Revoke an API key for good: this server refuses it at once, others within a second',
  tag: 'keys',
  scope: 'admin',
  params: z.strictObject({ id: keyId }),
  response: keyView,
});

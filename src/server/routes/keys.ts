import type { FastifyInstance } from 'fastify';
import { scopeAllows } from '../../security/index.ts';
import { LOCAL_PRINCIPAL } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { API_SCOPES } from '../contract/common.ts';
import { createKey, listKeys, revokeKey, whoami } from '../contract/keys.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../keys.ts';
import { addRoute } from '../routing.ts';

/** What each scope is for, in the words a client shows beside a button it disables. */
const SCOPE_MEANS: Readonly<Record<(typeof API_SCOPES)[number], string>> = {
  read: 'see sessions, their events, figures, versions and statistics',
  run: 'start, pause, resume, cancel and fork sessions, take versions, import, register workflows',
  approve: 'answer questions and approvals',
  admin: 'everything, and manage API keys and webhooks',
};

/**
 * `GET /v1/whoami` (any key) and `/v1/keys` (admin): the same store and functions as
 * `orchestrator keys`. This process forgets its cached key records after a change, so a key
 * revoked here is refused by the next request; other servers see it within a second.
 */
export function registerKeyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const keys = ctx.store.keys;

  addRoute(app, whoami, async (_input, { principal }) => ({
    keyId: principal.keyId,
    name: principal.name,
    scopes: [...principal.scopes],
    by: principal.by,
    local: principal === LOCAL_PRINCIPAL,
    allows: API_SCOPES.map((scope) => ({
      scope,
      allowed: scopeAllows(principal.scopes, scope),
      means: SCOPE_MEANS[scope],
    })),
  }));

  addRoute(app, createKey, async ({ body }) => {
    const created = await createApiKey(keys, { name: body.name, scopes: body.scopes });
    ctx.auth.forget();
    return { ...created.info, key: created.key };
  });

  addRoute(app, listKeys, async () => ({ keys: await listApiKeys(keys) }));

  addRoute(app, revokeKey, async ({ params }) => {
    const revoked = await revokeApiKey(keys, params.id);
    ctx.auth.forget();
    return revoked;
  });
}

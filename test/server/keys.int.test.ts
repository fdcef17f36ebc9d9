import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/server/contract/index.ts';
import { keySecret, type ServerKit, startServerKit } from './kit.ts';

// Who a key is (GET /v1/whoami) and key management over HTTP (admin): the same store as
// `orchestrator keys`, a secret shown once and never again, a revocation refused at once.

describe('whoami', () => {
  it('in the keyless loopback mode: local, every scope', async () => {
    const kit = await startServerKit();
    try {
      const answer = await kit.call('GET', '/v1/whoami');
      expect(answer.status, answer.text).toBe(200);
      const me = keys.whoami.response.parse(answer.body);
      expect(me).toMatchObject({ keyId: 'local', name: 'local', by: 'api:local', local: true });
      expect(me.allows.map((a) => [a.scope, a.allowed])).toEqual([
        ['read', true],
        ['run', true],
        ['approve', true],
        ['admin', true],
      ]);
    } finally {
      await kit.close();
    }
  });

  it('names the calling key and what its scopes allow, whatever they are', async () => {
    const kit = await startServerKit();
    try {
      const approver = await kit.key('approve', 'reviewer');
      const answer = await kit.call('GET', '/v1/whoami', { key: approver });
      expect(answer.status, answer.text).toBe(200);
      const me = keys.whoami.response.parse(answer.body);
      const keyId = approver.split('_')[1] as string;
      expect(me).toMatchObject({
        keyId,
        name: 'reviewer',
        scopes: ['approve'],
        by: `api:${keyId}:reviewer`,
        local: false,
      });
      expect(Object.fromEntries(me.allows.map((a) => [a.scope, a.allowed]))).toEqual({
        read: false,
        run: false,
        approve: true,
        admin: false,
      });
      expect(me.allows.every((a) => a.means.length > 0)).toBe(true);
      // A key is still needed: the route is not public.
      const anonymous = await kit.call('GET', '/v1/whoami');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ error: { code: 'API_UNAUTHENTICATED' } });
    } finally {
      await kit.close();
    }
  });
});

describe('key management over HTTP', () => {
  let kit: ServerKit;
  let admin: string;
  let runner: string;
  beforeAll(async () => {
    kit = await startServerKit({ settings: { ratePerSecond: 1000, rateBurst: 1000 } });
    admin = await kit.key('admin', 'root');
    runner = await kit.key('read,run', 'runner');
  });
  afterAll(() => kit?.close());

  it('creates a key whose secret is shown once, lists keys without it, and revokes one at once', async () => {
    const created = await kit.call('POST', '/v1/keys', {
      key: admin,
      body: { name: 'ci-bot', scopes: ['read', 'approve'] },
    });
    expect(created.status, created.text).toBe(201);
    const body = keys.createKey.response.parse(created.body);
    expect(body.key).toMatch(/^orch_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(body).toMatchObject({ name: 'ci-bot', scopes: ['read', 'approve'], revokedAt: null });
    expect(body.key.split('_')[1]).toBe(body.keyId);
    const secret = keySecret(body.key);

    // The store is `orchestrator keys`' own: the key is there, as a hash only.
    const stored = await kit.orchestrator.store.keys.getKey(body.keyId);
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(secret);

    // The new key works at once, with its scopes and no more.
    expect((await kit.call('GET', '/v1/sessions', { key: body.key })).status).toBe(200);
    const mine = keys.whoami.response.parse((await kit.call('GET', '/v1/whoami', { key: body.key })).body);
    expect(mine).toMatchObject({ keyId: body.keyId, name: 'ci-bot' });
    const forbidden = await kit.call('POST', '/v1/sessions/ses-x/pause', { key: body.key, body: {} });
    expect(forbidden.status).toBe(403);

    const listed = await kit.call('GET', '/v1/keys', { key: admin });
    expect(listed.status).toBe(200);
    const list = keys.listKeys.response.parse(listed.body);
    // Listed by creation time, then id: keys made in the same millisecond come in any order.
    expect(list.keys.map((k) => k.name).sort()).toEqual(['ci-bot', 'root', 'runner']);
    // Never the secret, never the hash, never a whole key: not in any field, under any name.
    expect(listed.text).not.toContain(secret);
    expect(listed.text).not.toContain(stored?.hash as string);
    expect(listed.text).not.toMatch(/orch_[0-9a-f]{12}_/);
    expect(Object.keys(list.keys[2] ?? {}).sort()).toEqual(['createdAt', 'keyId', 'name', 'revokedAt', 'scopes']);

    const revoked = await kit.call('DELETE', `/v1/keys/${body.keyId}`, { key: admin });
    expect(revoked.status, revoked.text).toBe(200);
    expect(keys.revokeKey.response.parse(revoked.body)).toMatchObject({
      keyId: body.keyId,
      revokedAt: expect.any(String),
    });
    // At once, not within the second the cache would allow: this server forgot its records.
    const refused = await kit.call('GET', '/v1/sessions', { key: body.key });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: { code: 'API_UNAUTHENTICATED', details: { reason: 'revoked' } } });
    const after = keys.listKeys.response.parse((await kit.call('GET', '/v1/keys', { key: admin })).body);
    expect(after.keys.find((k) => k.keyId === body.keyId)?.revokedAt).toEqual(expect.any(String));
  });

  it('refuses other scopes with 403 JSON and the registry code, and hostile input with 4xx', async () => {
    for (const [method, route, body] of [
      ['POST', '/v1/keys', { name: 'sneaky', scopes: ['admin'] }],
      ['GET', '/v1/keys', undefined],
      ['DELETE', '/v1/keys/0123456789ab', undefined],
    ] as const) {
      const answer = await kit.call(method, route, { key: runner, ...(body && { body }) });
      expect(answer.status, `${method} ${route}`).toBe(403);
      expect(answer.headers.get('content-type')).toContain('application/json');
      expect(answer.body).toMatchObject({
        error: { code: 'API_FORBIDDEN', retryable: false, details: { scope: 'admin' } },
      });
    }
    // Nothing was created by the refused request.
    expect((await kit.orchestrator.store.keys.listKeys()).map((k) => k.name)).not.toContain('sneaky');

    const cases: Array<[string, string, unknown, number, string, string?]> = [
      ['POST', '/v1/keys', { name: '../../etc', scopes: ['read'] }, 400, 'INVALID_ARGUMENT'],
      ['POST', '/v1/keys', { name: 'x', scopes: ['root'] }, 400, 'INVALID_ARGUMENT', 'body.scopes.0'],
      ['POST', '/v1/keys', { name: 'x', scopes: [] }, 400, 'INVALID_ARGUMENT', 'body.scopes'],
      ['POST', '/v1/keys', { name: 'x', scopes: ['read'], hash: 'mine' }, 400, 'INVALID_ARGUMENT'],
      ['DELETE', '/v1/keys/..%2F..%2Fetc', undefined, 400, 'INVALID_ARGUMENT', 'path.id'],
      ['DELETE', '/v1/keys/ffffffffffff', undefined, 404, 'API_KEY_NOT_FOUND'],
    ];
    for (const [method, route, body, status, code, field] of cases) {
      const answer = await kit.call(method, route, { key: admin, ...(body !== undefined && { body }) });
      expect(answer.status, `${method} ${route} ${JSON.stringify(body)}: ${answer.text}`).toBe(status);
      expect(answer.body).toMatchObject({ error: { code, ...(field && { details: { field } }) } });
    }
  });

  it('are in the OpenAPI document with their scopes', async () => {
    const doc = (
      await kit.call<{ paths: Record<string, Record<string, { description?: string }>> }>('GET', '/openapi.json')
    ).body;
    expect(Object.keys(doc.paths['/v1/keys'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/v1/keys/{id}']?.delete?.description).toContain('`admin` scope');
    expect(doc.paths['/v1/whoami']?.get?.description).toContain('any scope');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES, type ApiRoute } from '../../src/server/contract/index.ts';
import { describeResult, parseJsonLines, runCli, waitFor } from '../support/cli-kit.ts';
import { keySecret, type ServerKit, startServerKit } from './kit.ts';

// API keys: created, listed and revoked with the CLI, stored hashed, and checked on every route.

const SAMPLE_PARAMS: Record<string, string> = {
  id: 'ses-x',
  version: '1',
  requestId: 'req_x',
  agentId: 'agt_x',
  name: 'wf',
};

/** A URL of the route with sample parameters. */
function urlOf(route: ApiRoute): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? 'x');
}

/** A scope that does not allow what `needed` allows. */
const WEAKER: Record<string, string> = {
  read: 'approve',
  run: 'read,approve',
  approve: 'read,run',
  admin: 'read,run,approve',
};

describe('API keys', () => {
  let dir: string;
  let kit: ServerKit;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orch-api-keys-'));
    kit = await startServerKit({ dir, settings: { ratePerSecond: 1000, rateBurst: 1000 } });
  });
  afterAll(async () => {
    await kit?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('are created, listed and revoked with the CLI, stored only as hashes', { timeout: 60_000 }, async () => {
    const created = await runCli(['keys', 'create', '--name', 'ci-bot', '--scope', 'read,run', '--json'], {
      dataDir: dir,
    });
    expect(created.code, describeResult(created)).toBe(0);
    const { key, keyId, scopes } = JSON.parse(created.stdout) as { key: string; keyId: string; scopes: string[] };
    expect(key).toMatch(/^orch_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(scopes).toEqual(['read', 'run']);
    const stored = await kit.orchestrator.store.keys.getKey(keyId);
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(keySecret(key));

    const listed = await runCli(['keys', 'list', '--json'], { dataDir: dir });
    const rows = parseJsonLines(listed.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([expect.objectContaining({ keyId, name: 'ci-bot', revokedAt: null })]);
    expect(listed.stdout).not.toContain('hash');

    await waitFor(async () => (await kit.call('GET', '/v1/sessions')).status === 401, 'keys to be required', {
      timeoutMs: 5000,
    });
    expect((await kit.call('GET', '/v1/sessions', { key })).status).toBe(200);

    const revoked = await runCli(['keys', 'revoke', keyId], { dataDir: dir });
    expect(revoked.code, describeResult(revoked)).toBe(0);
    expect(revoked.stdout).toContain(`revoked API key ${keyId} (ci-bot)`);
    // Another process revoked it: this server refuses it within a second.
    await waitFor(async () => (await kit.call('GET', '/v1/sessions', { key })).status === 401, 'the revocation', {
      timeoutMs: 5000,
    });
    const refused = await kit.call('GET', '/v1/sessions', { key });
    expect(refused.body).toMatchObject({ error: { code: 'API_UNAUTHENTICATED', details: { reason: 'revoked' } } });

    const unknown = await runCli(['keys', 'revoke', 'ffffffffffff'], { dataDir: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error [API_KEY_NOT_FOUND]');
    const badScope = await runCli(['keys', 'create', '--name', 'x', '--scope', 'read,root'], { dataDir: dir });
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('unknown scope "root"; the scopes are read, run, approve, admin');
  });

  it('every route refuses a missing, malformed, unknown, revoked or under-scoped key', async () => {
    const revokedKey = await kit.key('admin', 'leaver');
    await kit.orchestrator.store.keys.revokeKey(revokedKey.split('_')[1] as string, new Date().toISOString());
    const unknownKey = `orch_${'a'.repeat(12)}_${'b'.repeat(43)}`;
    const routes = Object.values(API_ROUTES).filter((route) => route.scope !== 'public');
    expect(routes.length).toBeGreaterThan(25);
    const weaker = new Map<string, string>();
    for (const scope of Object.keys(WEAKER)) weaker.set(scope, await kit.key(WEAKER[scope] as string, `not-${scope}`));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const failures: string[] = [];
    for (const route of routes) {
      const url = urlOf(route);
      const body = route.method === 'POST' ? {} : undefined;
      const cases: Array<[string, Record<string, string>, number, string]> = [
        ['missing', {}, 401, 'API_UNAUTHENTICATED'],
        ['malformed', { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'API_UNAUTHENTICATED'],
        ['unknown', { authorization: `Bearer ${unknownKey}` }, 401, 'API_UNAUTHENTICATED'],
        ['revoked', { authorization: `Bearer ${revokedKey}` }, 401, 'API_UNAUTHENTICATED'],
        ['under-scoped', { authorization: `Bearer ${weaker.get(route.scope)}` }, 403, 'API_FORBIDDEN'],
      ];
      // A route any key may call has no key too weak for it.
      if (route.scope === 'any') cases.pop();
      for (const [what, headers, status, code] of cases) {
        const answer = await kit.call<{ error?: { code: string } }>(route.method, url, { headers, body });
        if (answer.status !== status || answer.body.error?.code !== code) {
          failures.push(`${route.method} ${url} with a ${what} key: ${answer.status} ${answer.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('limits the rate of each key', async () => {
    const limited = await startServerKit({ settings: { ratePerSecond: 1, rateBurst: 3 } });
    try {
      const key = await limited.key('read');
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.call('GET', '/v1/workflows', { key })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const refused = await limited.call('GET', '/v1/workflows', { key });
      expect(refused.body).toMatchObject({ error: { code: 'API_RATE_LIMITED', retryable: true } });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another key has its own allowance.
      expect((await limited.call('GET', '/v1/workflows', { key: await limited.key('read', 'other') })).status).toBe(
        200,
      );
    } finally {
      await limited.close();
    }
  });
});

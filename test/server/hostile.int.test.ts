import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../src/server/contract/index.ts';
import { ASK_ONLY } from './fixtures.ts';
import { type ServerKit, startServerKit } from './kit.ts';

// Hostile input: clear 4xx answers in the registry's shape, never a 5xx, never a file outside
// the data directory.

const EVIL = ['..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'a..b', '.hidden', '-rf', 'x'.repeat(300), '%00', 'caf%C3%A9'];

describe('hostile requests', () => {
  let kit: ServerKit;
  let key: string;
  beforeAll(async () => {
    // No rate limit to speak of: a 429 would pass for a refusal, and the traversal test alone
    // sends several hundred requests.
    kit = await startServerKit({
      settings: { importLimitBytes: 4096, ratePerSecond: 1_000_000, rateBurst: 1_000_000 },
    });
    key = await kit.key('admin');
    await kit.call('POST', '/v1/workflows', { key, body: { source: ASK_ONLY } });
  });
  afterAll(() => kit?.close());

  it('refuses bad JSON, unknown fields and wrong types, naming the field', async () => {
    const badJson = await kit.call('POST', '/v1/sessions', { key, raw: '{"workflow": ' });
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body' } } });
    const unknown = await kit.call('POST', '/v1/sessions', {
      key,
      body: { workflow: 'ask-only', inputs: { topic: 'x' }, sneaky: true },
    });
    expect(unknown.body).toMatchObject({
      error: { code: 'INVALID_ARGUMENT', message: 'body: unknown field sneaky', details: { field: 'body' } },
    });
    const wrongType = await kit.call('POST', '/v1/sessions', { key, body: { workflow: 42 } });
    expect(wrongType.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.workflow' } } });
    const notObject = await kit.call('POST', '/v1/workflows', { key, raw: '[1,2]' });
    expect(notObject.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body' } } });
    const badQuery = await kit.call('GET', '/v1/sessions?limit=-3&color=red', { key });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    const badHeader = await kit.call('GET', '/v1/sessions/x/events', {
      key,
      headers: { accept: 'text/event-stream', 'last-event-id': 'yesterday' },
    });
    expect(badHeader.body).toMatchObject({ error: { details: { field: 'header.last-event-id' } } });
  });

  it('refuses oversized bodies and bodies of a type the route does not take', async () => {
    const huge = await kit.call('POST', '/v1/workflows', {
      key,
      raw: JSON.stringify({ source: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ error: { code: 'LIMIT_EXCEEDED', details: { field: 'body' } } });
    const bigImport = await kit.call('POST', '/v1/sessions/import', {
      key,
      raw: `${'{"a":1}\n'.repeat(1000)}`,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(bigImport.status).toBe(413);
    expect(bigImport.body).toMatchObject({ error: { code: 'LIMIT_EXCEEDED' } });
    const text = await kit.call('POST', '/v1/workflows', {
      key,
      raw: 'name: x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ error: { code: 'API_MEDIA_UNSUPPORTED' } });
  });

  it('answers path traversal and malformed ids in every path parameter with a 4xx', async () => {
    const failures: string[] = [];
    for (const route of Object.values(API_ROUTES)) {
      const names = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string);
      for (const name of names) {
        for (const evil of [...EVIL, ...(name === 'version' ? ['0', '-1', '1.5', 'abc'] : [])]) {
          const url = route.path.replace(/:([A-Za-z]+)/g, (_, other: string) =>
            other === name ? evil : other === 'version' ? '1' : 'ok',
          );
          const answer = await rawRequest(kit.url, route.method, url, key);
          const code = (JSON.parse(answer.text || '{}') as { error?: { code?: unknown } }).error?.code;
          if (answer.status < 400 || answer.status >= 500 || typeof code !== 'string' || code === 'API_RATE_LIMITED') {
            failures.push(`${route.method} ${url}: ${answer.status} ${answer.text.slice(0, 100)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('keeps new sessions and forks inside the data directory', async () => {
    const start = await kit.call('POST', '/v1/sessions', {
      key,
      body: { workflow: 'ask-only', inputs: { topic: 'x' }, sessionId: '../../escape' },
    });
    expect(start.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.sessionId' } } });
    await kit.call('POST', '/v1/sessions', {
      key,
      body: { workflow: 'ask-only', inputs: { topic: 'x' }, sessionId: 'ses-safe' },
    });
    const fork = await kit.call('POST', '/v1/sessions/ses-safe/fork', { key, body: { as: '../outside' } });
    expect(fork.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'body.as' } } });
    const imported = await kit.call('POST', '/v1/sessions/import?as=..%2Fx', {
      key,
      raw: '{}\n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(imported.body).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { field: 'query.as' } } });
  });
});

/** A request with the path sent exactly as written (fetch would resolve `..` segments first). */
function rawRequest(url: string, method: string, path: string, key: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(`${url}/`, {
      method,
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
    sent.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    sent.on('error', reject);
    sent.end(method === 'POST' ? '{}' : undefined);
  });
}

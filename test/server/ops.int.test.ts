import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorError } from '../../src/errors/index.ts';
import { health, ready } from '../../src/server/contract/ops.ts';
import { ApiServer } from '../../src/server/index.ts';
import { describeResult, startCli, tempDir, waitFor } from '../support/cli-kit.ts';
import { call, type ServerKit, startServerKit } from './kit.ts';

// Probes, metrics, the document and the refusals every server makes, over real HTTP on loopback.

describe('operations routes', () => {
  let kit: ServerKit;
  beforeAll(async () => {
    kit = await startServerKit();
  });
  afterAll(() => kit?.close());

  it('answers the probes as the contract says', async () => {
    const live = await kit.call('GET', '/healthz');
    expect(live.status).toBe(200);
    health.response.parse(live.body);
    const readiness = await kit.call('GET', '/readyz');
    expect(readiness.status).toBe(200);
    expect(ready.response.parse(readiness.body)).toMatchObject({ store: 'sqlite', migrations: 'done' });
  });

  it('serves an OpenAPI 3.1 document of the routes, and its UI', async () => {
    const doc = await kit.call<{
      openapi: string;
      paths: Record<string, unknown>;
      components: Record<string, unknown>;
    }>('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics']));
    expect(doc.body.components).toMatchObject({ securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } });
    const ui = await fetch(`${kit.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('answers an unknown route with the registry error shape', async () => {
    const answer = await kit.call('GET', '/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: {
        code: 'API_ROUTE_NOT_FOUND',
        message: 'no route GET /v1/nothing-here',
        retryable: false,
        details: { method: 'GET', path: '/v1/nothing-here' },
      },
    });
  });

  it('serves Prometheus metrics: keyless on loopback until a key exists, then only with a key', async () => {
    const open = await kit.call('GET', '/metrics');
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toContain('text/plain');
    expect(open.text).toContain('# TYPE orchestrator_events_total counter');
    // The API counts itself on the same registry, by route pattern (never by raw path).
    expect(open.text).toMatch(/orchestrator_api_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(open.text).toMatch(/orchestrator_api_requests_total\{method="GET",route="[^"]*",status="404"\} 1/);
    expect(open.text).not.toContain('nothing-here');
    expect(open.text).toContain('orchestrator_api_stream_clients 0');
    const key = await kit.key('read');
    await waitFor(async () => (await kit.call('GET', '/metrics')).status === 401, 'keys to be required', {
      timeoutMs: 5000,
    });
    const refused = await kit.call('GET', '/metrics');
    expect(refused.body).toMatchObject({ error: { code: 'API_UNAUTHENTICATED', details: { reason: 'missing' } } });
    expect((await kit.call('GET', '/metrics', { key })).status).toBe(200);
    // The probes stay open for load balancers.
    expect((await kit.call('GET', '/healthz')).status).toBe(200);
  });
});

describe('CORS', () => {
  it('is off unless configured, and then answers only the configured origins', async () => {
    const plain = await startServerKit();
    const open = await startServerKit({ settings: { corsOrigins: ['https://dash.example.com'] } });
    try {
      const preflight = (url: string, origin: string) =>
        fetch(`${url}/v1/sessions`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      const off = await preflight(plain.url, 'https://dash.example.com');
      expect(off.headers.get('access-control-allow-origin')).toBeNull();
      const allowed = await preflight(open.url, 'https://dash.example.com');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      const other = await preflight(open.url, 'https://evil.example.com');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const simple = await fetch(`${open.url}/healthz`, { headers: { origin: 'https://dash.example.com' } });
      expect(simple.headers.get('access-control-allow-origin')).toBe('https://dash.example.com');
    } finally {
      await plain.close();
      await open.close();
    }
  });
});

describe('listening beyond loopback', () => {
  it('is refused without an API key, and allowed once one exists', async () => {
    const kit = await startServerKit();
    try {
      const refused = await ApiServer.start({ orchestrator: kit.orchestrator, settings: { host: '0.0.0.0', port: 0 } })
        .then(() => undefined)
        .catch((error: unknown) => error as OrchestratorError);
      expect(refused?.code).toBe('SERVER_START_FAILED');
      expect(refused?.message).toContain('orchestrator keys create');
      const key = await kit.key('read');
      const wide = await ApiServer.start({ orchestrator: kit.orchestrator, settings: { host: '0.0.0.0', port: 0 } });
      try {
        const port = new URL(wide.url).port;
        // Beyond loopback there is no keyless mode, even for a client on this machine.
        expect((await call(`http://127.0.0.1:${port}`, 'GET', '/metrics')).status).toBe(401);
        expect((await call(`http://127.0.0.1:${port}`, 'GET', '/metrics', { key })).status).toBe(200);
      } finally {
        await wide.close();
      }
    } finally {
      await kit.close();
    }
  });
});

describe('orchestrator serve', () => {
  it('serves until SIGTERM, then stops gracefully', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tempDir('serve');
    try {
      const serve = startCli(['serve', '--port', '0'], { dataDir: dir });
      const url = await waitFor(
        () => /API listening on (http:\/\/\S+) /.exec(serve.stdout())?.[1],
        `the serve command to listen (${serve.stderr()})`,
        { timeoutMs: 30_000 },
      );
      expect((await call(url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
      serve.child.kill('SIGTERM');
      const result = await serve.exited;
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stdout).toContain('stopping: live streams end, running sessions are left resumable');
    } finally {
      await cleanup();
    }
  });

  it('refuses a bad port as a usage error', async () => {
    const { dir, cleanup } = await tempDir('serve-port');
    try {
      const result = await startCli(['serve', '--port', '99999'], { dataDir: dir }).exited;
      expect(result.code, describeResult(result)).toBe(2);
      expect(result.stderr).toContain('error [INVALID_ARGUMENT]: --port expects 0 to 65535, got "99999"');
    } finally {
      await cleanup();
    }
  });
});

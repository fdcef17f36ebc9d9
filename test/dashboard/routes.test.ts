import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsGzip, isAssetName, registerDashboard } from '../../src/dashboard/index.ts';

// The dashboard's two routes over a build of our own making, through Fastify's inject().

let dir: string;
let app: FastifyInstance;
const SCRIPT = 'console.log("dashboard");\n';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dashboard-'));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
  await writeFile(path.join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(path.join(dir, 'assets', 'notes.txt'), 'not an asset type');
  await writeFile(path.join(dir, 'secret.js'), 'outside assets');
  app = Fastify();
  registerDashboard(app, { dir });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('registerDashboard', () => {
  it('serves the page at / with its security headers, never cached stale', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<title>x</title>');
  });

  it('serves a hashed asset as immutable, gzipped when the client accepts it', async () => {
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toContain('immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);

    const gz = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('accept-encoding');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(SCRIPT);
    // Compressed once, then from memory; a rebuilt file is compressed again.
    const again = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(again.rawPayload).toEqual(gz.rawPayload);
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), `${SCRIPT}// rebuilt\n`);
    const rebuilt = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gunzipSync(rebuilt.rawPayload).toString()).toBe(`${SCRIPT}// rebuilt\n`);
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  });

  it('answers 404 for unknown assets, other types and any path outside assets/', async () => {
    for (const url of [
      '/assets/missing.js',
      '/assets/notes.txt',
      '/assets/..%2Fsecret.js',
      '/assets/%2e%2e%2fsecret.js',
      '/assets/../secret.js',
      '/assets/.hidden.js',
      '/secret.js',
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('outside assets');
    }
  });

  it('says how to build it when the build is missing', async () => {
    const empty = Fastify();
    registerDashboard(empty, { dir: path.join(dir, 'nothing-here') });
    const res = await empty.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    await empty.close();
  });
});

describe('names and encodings', () => {
  it('accepts only flat asset names of known types', () => {
    expect(isAssetName('index-CncFLWRl.js')).toBe(true);
    expect(isAssetName('style-1.css')).toBe(true);
    for (const bad of ['../x.js', 'a/b.js', '.x.js', 'x..js', 'x.exe', '', 'x.js\0'])
      expect(isAssetName(bad), bad).toBe(false);
  });

  it('reads Accept-Encoding with q-values', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
  });
});

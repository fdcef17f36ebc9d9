import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { registerDashboard } from '../../src/dashboard/index.ts';
import { describeResult, type RunningProcess, runCli, startCli } from './cli-kit.ts';

/**
 * The dashboard's browser tests: Debian's Chromium (never a downloaded browser) driven by
 * playwright-core, against a real `orchestrator serve` in a child process with the offline
 * scripted model. `./run-tests` installs Chromium where it is missing (scripts/bootstrap.sh).
 */

/** Where the test set-up puts Chromium (`apt-get install chromium`). */
export const CHROMIUM = process.env.ORCHESTRATOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Starts Chromium headless. As root (containers, CI) Chromium's own sandbox cannot start
 * without user namespaces it is not given, so it runs with `--no-sandbox` there.
 * @throws Error naming the fix when Chromium is missing
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the dashboard's browser tests need Debian's Chromium (apt-get install chromium; ./run-tests installs it)`,
    );
  }
  const root = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...(root ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A running `orchestrator serve`. */
export interface Served {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly process: RunningProcess;
  /** Stops it with SIGTERM (a graceful shutdown) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts `orchestrator serve --port 0` on a data directory, with the scripted model answering
 * from `scenario` when given, and waits until it says where it listens.
 */
export async function startServe(
  dataDir: string,
  options: { readonly scenario?: string; readonly env?: Record<string, string> } = {},
): Promise<Served> {
  const args = ['serve', '--port', '0', ...(options.scenario ? ['--model-server', options.scenario] : [])];
  const proc = startCli(args, { dataDir, ...(options.env && { env: options.env }) });
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    url = /listening on (http:\/\/[^\s)]+)/.exec(proc.stdout())?.[1];
    if (url) break;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      const result = await Promise.race([proc.exited, sleep(2000).then(() => undefined)]);
      proc.child.kill('SIGKILL');
      throw new Error(
        `orchestrator serve did not start${result ? `:\n${describeResult(result)}` : ` within 60 s:\n${proc.stdout()}\n${proc.stderr()}`}`,
      );
    }
    await sleep(50);
  }
  return {
    url,
    process: proc,
    async stop() {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      const done = await Promise.race([proc.exited, sleep(20_000).then(() => undefined)]);
      if (!done) {
        proc.child.kill('SIGKILL');
        await proc.exited;
      }
    },
  };
}

/** Creates an API key with `orchestrator keys create` and returns it. */
export async function createKey(dataDir: string, name: string, scopes: readonly string[]): Promise<string> {
  const result = await runCli(['keys', 'create', '--name', name, '--scope', scopes.join(','), '--json'], { dataDir });
  if (result.code !== 0) throw new Error(`keys create failed:\n${describeResult(result)}`);
  return (JSON.parse(result.stdout) as { key: string }).key;
}

/** Calls the API from the test (to set up what the page is not about, or to check what it did). */
export async function apiCall<T>(
  served: Served,
  method: 'GET' | 'POST',
  path: string,
  options: { readonly key?: string; readonly body?: unknown } = {},
): Promise<T> {
  const response = await fetch(`${served.url}${path}`, {
    method,
    headers: {
      ...(options.key && { authorization: `Bearer ${options.key}` }),
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A page of a fresh browser context (its own sessionStorage) at 1280×800, failing on page errors. */
export async function openPage(
  browser: Browser,
  options: { readonly key?: string; readonly width?: number; readonly height?: number } = {},
): Promise<{ readonly context: BrowserContext; readonly page: Page; readonly errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  if (options.key) {
    await context.addInitScript((key) => sessionStorage.setItem('orchestrator.apiKey', key), options.key);
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // Answers that are not a success are the page's business (a 401 asks for a key, a 403
    // disables a button): the browser's own line about each is not an error of the page.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return { context, page, errors };
}

/** Where the page is opened: the server itself, or a front that serves the page and passes `/v1` to it. */
export interface DashboardFront {
  readonly url: string;
  /** True when `orchestrator serve` serves the page itself at `/`. */
  readonly servedByServer: boolean;
  close(): Promise<void>;
}

/**
 * The dashboard's address for a running server: the server itself when it serves the page at
 * `/` (src/server registering src/dashboard), else a small front on loopback that serves the
 * built page with the same module and passes every `/v1` request, streams included, to the
 * server unchanged: same origin for the page, the real API behind it.
 */
export async function dashboardFront(served: Served): Promise<DashboardFront> {
  const probe = await fetch(`${served.url}/`);
  const body = await probe.text();
  if (probe.ok && body.includes('<div id="root">')) {
    return { url: served.url, servedByServer: true, close: async () => {} };
  }
  const app = Fastify({ forceCloseConnections: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
  registerDashboard(app);
  const PASS = ['authorization', 'content-type', 'accept', 'last-event-id'];
  app.all('/v1/*', async (request, reply) => {
    const controller = new AbortController();
    // The response's close, not the request's: a request closes as soon as its body is read.
    reply.raw.on('close', () => controller.abort());
    const headers: Record<string, string> = {};
    for (const name of PASS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(`${served.url}${request.url}`, {
      method: request.method,
      headers,
      ...(request.body instanceof Buffer && request.body.length > 0 && { body: request.body }),
      signal: controller.signal,
    });
    reply.code(upstream.status);
    for (const name of ['content-type', 'cache-control', 'retry-after']) {
      const value = upstream.headers.get(name);
      if (value) reply.header(name, value);
    }
    if (!upstream.body) return reply.send();
    return reply.send(Readable.fromWeb(upstream.body as unknown as WebReadableStream<Uint8Array>));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, servedByServer: false, close: () => app.close() };
}

/**
 * Controls of the page without an accessible name (a button, field, link or tab a screen
 * reader would announce as nothing), read from Chromium's accessibility tree.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot();
  return tree
    .split('\n')
    .filter((line) =>
      /^\s*- (button|textbox|combobox|checkbox|radio|searchbox|tab|link|slider)( \[[^\]]*\])?:?$/.test(line),
    )
    .map((line) => line.trim());
}

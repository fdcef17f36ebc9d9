import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
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
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { context, page, errors };
}

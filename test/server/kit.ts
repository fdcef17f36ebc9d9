import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import type { Scenario } from '../../src/model-server/index.ts';
import { Orchestrator } from '../../src/orchestrator/index.ts';
import { ApiServer, createApiKey, type ServerOptions } from '../../src/server/index.ts';

/** A real server on loopback over a real orchestrator (SQLite in a temp folder, the scripted model). */
export interface ServerKit {
  readonly dir: string;
  readonly orchestrator: Orchestrator;
  readonly server: ApiServer;
  readonly url: string;
  /** Creates an API key with these scopes (ending the keyless loopback mode). */
  key(scopes: string, name?: string): Promise<string>;
  /** A request with JSON in and out; `key` goes in `Authorization: Bearer`. */
  call<T = unknown>(method: string, route: string, options?: CallOptions): Promise<JsonAnswer<T>>;
  close(): Promise<void>;
}

export interface CallOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** Sent as it is (bad JSON, huge bodies). */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

/** An answer; `body` is the parsed JSON (typed by the caller: check it with the contract's schema). */
export interface JsonAnswer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

/** Starts an orchestrator and its API on a free port. */
export async function startServerKit(
  options: {
    scenario?: Scenario | string;
    settings?: ServerOptions;
    config?: Record<string, unknown>;
    dir?: string;
  } = {},
): Promise<ServerKit> {
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'orch-api-')));
  const orchestrator = await Orchestrator.open({
    config: loadConfig({ dataDir: dir, logLevel: 'silent', controlPollMs: 100, ...options.config }, {}),
    ...(options.scenario !== undefined && { scenario: options.scenario }),
  });
  let server: ApiServer;
  try {
    server = await ApiServer.start({ orchestrator, settings: { port: 0, ...options.settings } });
  } catch (error) {
    await orchestrator.close();
    throw error;
  }
  const url = server.url;
  return {
    dir,
    orchestrator,
    server,
    url,
    async key(scopes, name = 'test') {
      const created = await createApiKey(orchestrator.store.keys, { name, scopes });
      return created.key;
    },
    call: <T>(method: string, route: string, callOptions: CallOptions = {}) => call<T>(url, method, route, callOptions),
    async close() {
      await server.close();
      await orchestrator.close();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One HTTP request to a server, answered as JSON when it is JSON. */
export async function call<T = unknown>(
  url: string,
  method: string,
  route: string,
  options: CallOptions = {},
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${url}${route}`, { method, headers, ...(body !== undefined && { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/**
 * The secret part of an `orch_<id>_<secret>` key. The secret is base64url, which may itself
 * hold `_` (even as its first character), so splitting on `_` would cut it short or empty.
 */
export function keySecret(key: string): string {
  const match = /^orch_[0-9a-f]{12}_(.{43})$/.exec(key);
  if (match?.[1] === undefined) throw new Error(`not an API key: ${key.slice(0, 18)}...`);
  return match[1];
}

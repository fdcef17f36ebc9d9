import type { FastifyInstance } from 'fastify';
import { OrchestratorError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Orchestrator } from '../orchestrator/index.ts';
import { packageRoot } from '../package-root.ts';
import { buildApp } from './app.ts';
import { KeyAuthenticator } from './auth.ts';
import type { ApiContext } from './context.ts';
import { apiMetrics } from './metrics.ts';
import { compileServerOptions, type ServerOptions } from './options.ts';
import { registerApiRoutes, registerPublicRoutes } from './routes/index.ts';
import { createStreams } from './streams/index.ts';
import { WebhookOutbox } from './webhooks/outbox.ts';

/** Options of {@link ApiServer.start}. */
export interface StartServerOptions {
  /**
   * Runs the workflows the API starts, and steers every session; its store holds the API keys
   * and registered workflows. Not closed by the server.
   */
  readonly orchestrator: Orchestrator;
  readonly settings?: ServerOptions;
  /** @default the orchestrator's logger */
  readonly logger?: Logger;
}

/** Where an {@link ApiServer} is: `listening` → `closing` (streams end, requests finish) → `closed`. */
export type ServerState = 'listening' | 'closing' | 'closed';

const VERSION = packageRoot().version;

/**
 * The HTTP API on Fastify, listening: REST under `/v1`, live streams, the OpenAPI document.
 * It serves one orchestrator, which runs the workflows the API starts in this process.
 */
export class ApiServer {
  /** The Fastify instance (tests use `inject`). */
  readonly app: FastifyInstance;
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly #context: ApiContext;
  readonly #outbox: WebhookOutbox;
  #state: ServerState = 'listening';
  #closing: Promise<void> | undefined;

  private constructor(app: FastifyInstance, url: string, context: ApiContext, outbox: WebhookOutbox) {
    this.app = app;
    this.url = url;
    this.#context = context;
    this.#outbox = outbox;
  }

  /**
   * Builds the app and listens. A server that would listen beyond loopback refuses to start
   * while the store holds no valid API key: it would be reachable by the network with nobody
   * able to authenticate, or (worse, were keyless access allowed there) by anyone.
   * @throws OrchestratorError `CONFIG_INVALID` (settings), `SERVER_START_FAILED` (no keys for a
   * non-loopback address, the port in use, an address that cannot be bound)
   */
  static async start(options: StartServerOptions): Promise<ApiServer> {
    const settings = compileServerOptions(options.settings);
    const logger = options.logger ?? options.orchestrator.logger;
    const auth = new KeyAuthenticator({ keys: options.orchestrator.store.keys, loopback: settings.loopback });
    if (!settings.loopback && !(await auth.anyValidKey())) {
      throw new OrchestratorError(
        'SERVER_START_FAILED',
        `refusing to listen on ${settings.host}, reachable beyond this machine, without an API key: create one with \`orchestrator keys create --name NAME --scope read\` (or listen on 127.0.0.1)`,
        { details: { host: settings.host } },
      );
    }
    const context: ApiContext = {
      orchestrator: options.orchestrator,
      store: options.orchestrator.store,
      auth,
      options: settings,
      logger,
      streams: createStreams(options.orchestrator, settings),
    };
    const app = await buildApp({
      options: settings,
      logger,
      auth,
      version: VERSION,
      publicRoutes: (root) => registerPublicRoutes(root, context),
      apiRoutes: (api) => registerApiRoutes(api, context),
      metrics: apiMetrics(options.orchestrator.monitor.prometheus.registry, context.streams.clients),
    });
    let address: string;
    try {
      address = await app.listen({ host: settings.host, port: settings.port });
    } catch (error) {
      await app.close().catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      throw new OrchestratorError(
        'SERVER_START_FAILED',
        `cannot listen on ${settings.host}:${settings.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : (error as Error).message}`,
        { cause: error, details: { host: settings.host, port: settings.port, errno: code ?? null } },
      );
    }
    const outbox = new WebhookOutbox({
      store: context.store.webhooks,
      source: options.orchestrator.log,
      logger,
      settings: {
        pollMs: settings.webhookPollMs,
        maxAttempts: settings.webhookMaxAttempts,
        backoffMs: settings.webhookBackoffMs,
        timeoutMs: settings.webhookTimeoutMs,
        version: VERSION,
      },
    }).start();
    return new ApiServer(app, address, context, outbox);
  }

  get state(): ServerState {
    return this.#state;
  }

  /** Open live streams (SSE responses and WebSockets), and the most bytes one holds unsent now. */
  streams(): { clients: number; maxBufferedBytes: number } {
    const clients = this.#context.streams.clients;
    return { clients: clients.size, maxBufferedBytes: clients.maxBufferedBytes() };
  }

  /** Runs one round of the webhook outbox now (enqueue, send); tests use it to skip the wait. */
  webhooksTick(): Promise<void> {
    return this.#outbox.tick();
  }

  /** True when requests without a key are let in (loopback with no valid key in the store). */
  async keyless(): Promise<boolean> {
    return this.#context.options.loopback && !(await this.#context.auth.anyValidKey());
  }

  /**
   * Stops listening: live streams end, requests in flight finish, new ones get 503. The
   * orchestrator is left open (its owner closes it, which leaves running sessions resumable).
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      // Node closes the connections idle when closing starts; a keep-alive connection whose
      // answer finishes meanwhile (a file still flushing) would hold the close until it times
      // out, so idle ones are closed again until the server has stopped.
      const sweep = setInterval(() => this.app.server.closeIdleConnections(), 100);
      try {
        await this.#outbox.close();
        await this.app.close();
      } finally {
        clearInterval(sweep);
        this.#state = 'closed';
      }
    })();
    return this.#closing;
  }
}

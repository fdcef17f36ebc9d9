import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { OrchestratorError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { KeyScope } from '../security/index.ts';
import type { KeyAuthenticator } from './auth.ts';
import { corsHook } from './cors.ts';
import { sendError } from './http-errors.ts';
import type { ApiMetrics } from './metrics.ts';
import type { CompiledServerOptions } from './options.ts';
import { RateLimiter } from './rate-limit.ts';
import { jsonSerializerCompiler, swaggerTransform, zodValidatorCompiler } from './schemas.ts';

/** What building the app needs. */
export interface AppParts {
  readonly options: CompiledServerOptions;
  readonly logger: Logger;
  readonly auth: KeyAuthenticator;
  readonly version: string;
  /** Registers the public routes (probes), outside authentication. */
  readonly publicRoutes: (app: FastifyInstance) => void;
  /** Registers the routes that need a key, inside the authenticated context. */
  readonly apiRoutes: (app: FastifyInstance) => void;
  /** Counts each answered request. */
  readonly metrics: ApiMetrics;
}

/**
 * The Fastify instance with everything but the listening socket: zod validation, the error
 * shape, CORS (off unless origins are configured), authentication and rate limits on every
 * route that needs a key, the OpenAPI document at `/openapi.json` and its UI at `/docs`.
 */
export async function buildApp(parts: AppParts): Promise<FastifyInstance> {
  const { options, logger, auth } = parts;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // Streams end in preClose (see the server); idle keep-alive sockets should not hold the close.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Ids longer than any valid one reach the schemas, which say what an id must be.
    routerOptions: { maxParamLength: 256 },
    // Requests the router refuses (a malformed or overlong path) get the registry's shape too.
    frameworkErrors: (error, request, reply) =>
      sendError(
        new OrchestratorError('INVALID_ARGUMENT', `path: ${error.message}`, { details: { field: 'path' } }),
        request,
        reply,
        { bodyLimit: options.bodyLimitBytes, logger },
      ),
  });
  // JSON only (imports add their own type): a text body is refused as such, not parsed.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(jsonSerializerCompiler);
  app.decorateRequest('principal', null);
  app.setErrorHandler((error, request, reply) =>
    sendError(error, request, reply, { bodyLimit: options.bodyLimitBytes, logger }),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new OrchestratorError('API_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, {
        details: { method: request.method, path: request.url.split('?')[0] },
      }),
      request,
      reply,
      { bodyLimit: options.bodyLimitBytes, logger },
    ),
  );
  if (options.corsOrigins.length > 0) app.addHook('onRequest', corsHook(options.corsOrigins));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    parts.metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'AI Orchestrator API',
        version: parts.version,
        description:
          'Sessions, live streams, questions and approvals of the orchestrator. Errors are `{ "error": { code, message, retryable, details } }` with the codes of docs/errors.md.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: orch_<id>_<secret>' } },
      },
    },
    transform: swaggerTransform as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  parts.publicRoutes(app);
  const limiter = new RateLimiter({ ratePerSecond: options.ratePerSecond, burst: options.rateBurst });
  await app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config.scope;
      if (scope === 'public') return;
      const principal = await auth.authenticate(request.headers.authorization ?? bearerProtocol(request.headers));
      if (scope !== undefined && scope !== 'any') auth.authorize(principal, scope as KeyScope);
      const waitMs = limiter.take(principal.keyId);
      if (waitMs > 0) {
        throw new OrchestratorError(
          'API_RATE_LIMITED',
          `API key ${principal.keyId} sent more than ${options.ratePerSecond} requests a second; try again in ${waitMs} ms`,
          { details: { keyId: principal.keyId, retryAfterMs: waitMs } },
        );
      }
      request.principal = principal;
    });
    parts.apiRoutes(api);
  });
  return app;
}

/**
 * A key sent as a WebSocket subprotocol, `bearer.<key>`: browsers cannot set headers on a
 * WebSocket, so clients offer `['orchestrator.v1', 'bearer.<key>']` and the server answers with
 * the first (Kubernetes does the same). Undefined when there is none.
 */
function bearerProtocol(headers: Record<string, string | string[] | undefined>): string | undefined {
  const offered = headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return undefined;
  const token = offered
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith('bearer.'));
  return token === undefined ? undefined : `Bearer ${token.slice('bearer.'.length)}`;
}

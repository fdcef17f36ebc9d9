import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from './auth.ts';
import { errorBody } from './contract/common.ts';
import type { ApiRoute, RouteInput, RouteOutput } from './contract/route.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for, set by the authentication hook (null on public routes). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope the route needs (see the contract's `ApiRoute.scope`). */
    scope?: string;
  }
}

/** What a handler gets besides its validated input. */
export interface Call {
  readonly principal: Principal;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** A route's implementation: validated input in, the success body out (or the reply sent by itself). */
export type Handler<R extends ApiRoute> = (input: RouteInput<R>, call: Call) => Promise<RouteOutput<R> | FastifyReply>;

/**
 * Registers one route of the contract: its schemas go to Fastify (checked by zod, see
 * schemas.ts) and to the OpenAPI document, its scope to the authentication hook. A handler that
 * streams or sends a file sends the reply itself and returns it.
 */
export function addRoute<R extends ApiRoute>(
  app: FastifyInstance,
  route: R,
  handler: Handler<R>,
  options: { bodyLimit?: number } = {},
): void {
  const status = route.status ?? 200;
  const success = route.produces
    ? {
        description: route.summary,
        content: { [route.produces.split(';')[0] as string]: { schema: { type: 'string' } } },
      }
    : route.response;
  const scopeNote =
    route.scope === 'public'
      ? 'No API key needed.'
      : route.scope === 'any'
        ? 'Needs an API key, with any scope.'
        : `Needs an API key with the \`${route.scope}\` scope.`;
  app.route({
    method: route.method,
    url: route.path,
    ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }),
    config: { scope: route.scope },
    schema: {
      operationId: route.operationId,
      summary: route.summary,
      description: [route.description, scopeNote].filter(Boolean).join('\n\n'),
      tags: [route.tag],
      ...(route.scope !== 'public' && { security: [{ apiKey: [] }] }),
      ...(route.params && { params: route.params }),
      ...(route.query && { querystring: route.query }),
      ...(route.body && { body: route.body }),
      ...(route.consumes && { consumes: [route.consumes] }),
      response: { [status]: success, '4xx': errorBody, '5xx': errorBody },
    },
    handler: async (request, reply) => {
      const input = { params: request.params, query: request.query, body: request.body } as RouteInput<R>;
      const principal = request.principal as Principal;
      const output = await handler(input, { principal, request, reply });
      if (reply.sent || output === reply) return reply;
      reply.code(status);
      if (route.produces) reply.type(route.produces);
      return output;
    },
  });
}

import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * CORS for the configured browser origins only (off unless some are configured): a preflight
 * from one of them is answered here with 204, and its requests get `Access-Control-Allow-Origin`.
 * Requests from other origins get no CORS headers at all, so browsers keep them out.
 */
export function corsHook(origins: readonly string[]) {
  const allowed = new Set(origins);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      reply
        .header('access-control-allow-methods', 'GET, POST, DELETE')
        .header('access-control-allow-headers', 'authorization, content-type, last-event-id')
        .header('access-control-max-age', '600')
        .code(204)
        .send();
      return reply;
    }
  };
}

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';

/**
 * Every failure leaves the API as `{ error: { code, message, retryable, details } }` with the
 * registry's HTTP status: the orchestrator's own errors as they are, Fastify's (bad JSON, a
 * body over the limit, an unknown content type) translated to registry codes, anything else as
 * `INTERNAL`, whose message is kept for the log and never sent.
 */

/** The registry error for a Fastify or Node error raised before a handler ran. */
export function fromFastifyError(error: FastifyError, bodyLimit: number): OrchestratorError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new OrchestratorError('INVALID_ARGUMENT', `body: not valid JSON (${error.message})`, {
        details: { field: 'body' },
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OrchestratorError('LIMIT_EXCEEDED', `body: larger than the limit of ${bodyLimit} bytes`, {
        details: { field: 'body', limit: 'bodyLimitBytes', maxBytes: bodyLimit },
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new OrchestratorError('API_MEDIA_UNSUPPORTED', `body: ${error.message}`, {
        details: { field: 'content-type' },
      });
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new OrchestratorError('API_MEDIA_UNSUPPORTED', `body: ${error.message}`, {
        details: { field: 'content-type' },
      });
    default:
      break;
  }
  const status = error.statusCode ?? 500;
  if (status === 413) {
    return new OrchestratorError('LIMIT_EXCEEDED', error.message, { details: { field: 'body' } });
  }
  if (status === 415) return new OrchestratorError('API_MEDIA_UNSUPPORTED', error.message);
  if (status >= 400 && status < 500) return new OrchestratorError('INVALID_ARGUMENT', error.message);
  return undefined;
}

/** Sends an error answer; unexpected errors are logged with the request id and answered without their message. */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { bodyLimit: number; logger: Logger },
): FastifyReply {
  let failure: OrchestratorError;
  if (error instanceof OrchestratorError) failure = error;
  else {
    const translated = fromFastifyError(error as FastifyError, options.bodyLimit);
    failure = translated ?? toOrchestratorError(error);
  }
  if (failure.status >= 500) {
    options.logger.error({ err: error, reqId: request.id, url: request.url }, 'an API request failed');
  }
  const shown =
    failure.code === 'INTERNAL' && !(error instanceof OrchestratorError)
      ? new OrchestratorError('INTERNAL', `an unexpected error; the server log has it under request ${request.id}`)
      : failure;
  const headers = shown.code === 'API_RATE_LIMITED' ? retryAfter(shown.details.retryAfterMs) : {};
  return reply
    .code(shown.status)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send({ error: shown.toJSON() });
}

function retryAfter(ms: unknown): Record<string, string> {
  return typeof ms === 'number' ? { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) } : {};
}

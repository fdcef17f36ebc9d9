import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isOrchestratorError, OrchestratorError } from '../../errors/index.ts';
import { type AnyEvent, type CompiledFilter, compileFilter, type OrchestratorEvent } from '../../events/index.ts';
import type { ApiContext } from '../context.ts';
import { liveSessions, liveSocket, sessionEvents } from '../contract/streams.ts';
import { addRoute } from '../routing.ts';
import { filterKey, pumpSession } from '../streams/pump.ts';
import { followSessions } from '../streams/sessions-stream.ts';
import { type Socket, serveSocket } from '../streams/socket.ts';
import { openSse, sseFrame, sseSink, writeSse } from '../streams/sse.ts';
import type { SessionViews } from '../views/sessions.ts';

/** `GET /v1/sessions/:id/events` (SSE or JSON), `GET /v1/live/sessions` (SSE), `GET /v1/live` (WebSocket). */
export function registerStreamRoutes(app: FastifyInstance, ctx: ApiContext, views: SessionViews): void {
  const { streams } = ctx;
  const log = ctx.orchestrator.log;
  const read = (sessionId: string, fromSeq: number, limit: number) =>
    log.store.read(sessionId, { fromSeq, limit }) as Promise<readonly OrchestratorEvent[]>;
  // Streams never end by themselves: they end before the server stops listening.
  app.addHook('preClose', async () => {
    streams.clients.closeAll();
    streams.feed.stop();
  });

  addRoute(app, sessionEvents, async ({ params, query }, { request, reply }) => {
    const sessionId = params.id;
    const filter = eventFilter(sessionId, query);
    const after = lastEventId(request) ?? query.after ?? 0;
    const lastSeq = await log.lastSeq(sessionId);
    if (lastSeq === 0) {
      throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
    }
    if (!(request.headers.accept ?? '').includes('text/event-stream')) {
      return jsonPage(sessionId, filter, after, query.limit, lastSeq, read);
    }
    const tail = await streams.hub.acquire(sessionId);
    const raw = reply.raw;
    reply.hijack();
    openSse(raw);
    const abort = new AbortController();
    const forget = streams.clients.add({
      kind: 'sse',
      what: sessionId,
      bufferedBytes: () => raw.writableLength,
      close: () => endStream(abort, raw),
    });
    raw.once('close', () => abort.abort());
    try {
      await pumpSession({
        tail,
        read: (fromSeq, limit) => read(sessionId, fromSeq, limit),
        filter,
        groupKey: `sse:${filterKey(typePattern(query.types), query.agent, query.severity)}`,
        after,
        follow: query.follow === 'true',
        heartbeatMs: ctx.options.heartbeatMs,
        batch: ctx.options.streamBufferEvents,
        sink: sseSink(raw),
        signal: abort.signal,
      });
    } catch (error) {
      ctx.logger.warn({ err: error, sessionId }, 'a session event stream failed');
    } finally {
      forget();
      streams.hub.release(tail);
      raw.end();
    }
    return reply;
  });

  addRoute(app, liveSessions, async ({ query }, { reply }) => {
    const raw = reply.raw;
    reply.hijack();
    openSse(raw);
    const abort = new AbortController();
    const forget = streams.clients.add({
      kind: 'sse',
      what: 'sessions',
      bufferedBytes: () => raw.writableLength,
      close: () => endStream(abort, raw),
    });
    raw.once('close', () => abort.abort());
    try {
      await followSessions({
        feed: streams.feed,
        views,
        limit: query.limit,
        heartbeatMs: ctx.options.heartbeatMs,
        signal: abort.signal,
        send: (row) => writeSse(raw, sessionFrame(row)),
        heartbeat: (at) => writeSse(raw, sseFrame('heartbeat', { at })),
      });
    } catch (error) {
      ctx.logger.warn({ err: error }, 'the sessions stream failed');
    } finally {
      forget();
      raw.end();
    }
    return reply;
  });

  app.get(
    liveSocket.path,
    {
      websocket: true,
      config: { scope: liveSocket.scope },
      schema: {
        operationId: liveSocket.operationId,
        summary: liveSocket.summary,
        description: `${liveSocket.description}\n\nNeeds an API key with the \`read\` scope.`,
        tags: [liveSocket.tag],
        security: [{ apiKey: [] }],
      },
    },
    (socket) =>
      serveSocket(socket as unknown as Socket, {
        hub: streams.hub,
        feed: streams.feed,
        views,
        clients: streams.clients,
        read,
        lastSeq: (sessionId) => log.lastSeq(sessionId),
        heartbeatMs: ctx.options.heartbeatMs,
        batch: ctx.options.streamBufferEvents,
        logger: ctx.logger,
      }),
  );
}

/** The SSE frame of a sessions-list row; a changed session's row is one object for every client. */
const SESSION_FRAMES = new WeakMap<object, string>();
function sessionFrame(row: object): string {
  let frame = SESSION_FRAMES.get(row);
  if (frame === undefined) {
    frame = sseFrame('session', row);
    SESSION_FRAMES.set(row, frame);
  }
  return frame;
}

/** The filter of a stream's query, its problems naming `query.types` and friends. */
function eventFilter(
  sessionId: string,
  query: { types?: string | undefined; agent?: string | undefined; severity?: string | undefined },
): CompiledFilter {
  const pattern = typePattern(query.types);
  try {
    return compileFilter({
      sessionId,
      ...(pattern !== undefined && { pattern }),
      ...(query.agent !== undefined && { agentId: query.agent }),
      ...(query.severity !== undefined && { minSeverity: query.severity as 'info' }),
    });
  } catch (error) {
    if (!isOrchestratorError(error, 'INVALID_ARGUMENT')) throw error;
    throw new OrchestratorError('INVALID_ARGUMENT', `query.types: ${error.message}`, {
      cause: error,
      details: { ...error.details, field: 'query.types' },
    });
  }
}

/** The event types (patterns) of a stream's `types` query; undefined for all. */
function typePattern(types: string | undefined): string[] | undefined {
  const pattern = types
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return pattern !== undefined && pattern.length > 0 ? pattern : undefined;
}

/** `Last-Event-ID` as a sequence number; undefined when absent. */
function lastEventId(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,15}$/.test(text)) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'header.last-event-id: expected the sequence number of an event', {
      details: { field: 'header.last-event-id' },
    });
  }
  return Number(text);
}

/** A JSON page of events after `after`, filtered; `next` is where the next page starts. */
async function jsonPage(
  sessionId: string,
  filter: CompiledFilter,
  after: number,
  limit: number,
  lastSeq: number,
  read: (sessionId: string, fromSeq: number, limit: number) => Promise<readonly OrchestratorEvent[]>,
) {
  const events: AnyEvent[] = [];
  let cursor = after;
  while (events.length < limit && cursor < lastSeq) {
    const page = await read(sessionId, cursor + 1, 1000);
    if (page.length === 0) break;
    for (const event of page) {
      if (events.length >= limit) break;
      cursor = event.seq;
      if (filter.matchesType(event.type) && (filter.matchesEvent === null || filter.matchesEvent(event))) {
        events.push(event as AnyEvent);
      }
    }
  }
  return { events, lastSeq, next: cursor < lastSeq ? cursor : null };
}

/**
 * Ends a stream at shutdown: the pump stops and the answer ends; a client that reads nothing
 * more (its buffers full) would hold the server's close for good, so its connection is cut
 * after a second.
 */
function endStream(abort: AbortController, raw: ServerResponse): void {
  abort.abort();
  setTimeout(() => raw.destroy(), 1000).unref();
}

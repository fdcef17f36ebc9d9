import { z } from 'zod';
import { eventSchema, nonNegativeInt, SEVERITY_NAMES, sessionId } from './common.ts';
import { route } from './route.ts';
import { sessionListRow } from './sessions.ts';

/**
 * Live streams: a session's events over SSE (or as JSON pages), every session's summary row
 * over SSE, and both over one WebSocket. Streams resume from a sequence number with no gap and
 * no duplicate; a client too slow to keep up is told what it missed live and catches up from
 * the log, without slowing anything down.
 */

/** Filters of a session's event stream. */
export const eventFilterQuery = z.strictObject({
  types: z
    .string()
    .max(2000)
    .optional()
    .describe('Comma-separated event types or globs (`agent.*,workflow.completed`); default: all'),
  agent: z.string().min(1).max(200).optional().describe("Only this agent's events"),
  severity: z.enum(SEVERITY_NAMES).optional().describe('Only events at least this severe'),
  after: nonNegativeInt
    .optional()
    .describe('Start after this sequence number (0: from the beginning); `Last-Event-ID` wins when both are sent'),
  follow: z
    .enum(['true', 'false'])
    .default('true')
    .describe('SSE: keep streaming live events (true) or end once caught up (false)'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000).describe('JSON pages: at most this many events'),
});

export const sessionEvents = route({
  method: 'GET',
  path: '/v1/sessions/:id/events',
  operationId: 'sessionEvents',
  summary: "A session's events: a live SSE stream (Accept: text/event-stream) or a JSON page",
  description: [
    'SSE: each event is `id: <seq>`, `event: <type>`, `data: <event JSON>`. Reconnecting with `Last-Event-ID` (or `?after=SEQ`) resumes with no gap and no duplicate.',
    'Idle streams get `event: heartbeat` (no id). A client that falls behind by more than the server keeps for it gets `event: lagged` with `{ fromSeq, toSeq, missed }` and then those events, read back from the log.',
    'Without `Accept: text/event-stream` the answer is a JSON page `{ events, lastSeq, next }`.',
  ].join('\n\n'),
  tag: 'streams',
  scope: 'read',
  params: z.strictObject({ id: sessionId }),
  query: eventFilterQuery,
  response: z.object({
    events: z.array(eventSchema),
    lastSeq: z.number().int().describe("The session's last sequence number"),
    next: z
      .number()
      .int()
      .nullable()
      .describe('Pass as `after` for the next page; null when there is nothing more now'),
  }),
});

export const liveSessions = route({
  method: 'GET',
  path: '/v1/live/sessions',
  operationId: 'liveSessions',
  summary: "Every session's summary row as it changes (SSE), for a dashboard's list",
  description:
    'First `event: session` for each of the newest `limit` sessions, then one whenever a session changes (rows of a session that changed several times while the client was busy are sent once, newest).',
  tag: 'streams',
  scope: 'read',
  query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
  response: z.string(),
  produces: 'text/event-stream',
});

/** Messages a WebSocket client sends. */
export const socketRequest = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('subscribe'),
    /** The client's name for the subscription, echoed on every message of it. */
    id: z.string().min(1).max(100),
    sessionId,
    after: z.number().int().min(0).optional(),
    types: z.array(z.string().min(1).max(200)).max(100).optional(),
    agent: z.string().min(1).max(200).optional(),
    severity: z.enum(SEVERITY_NAMES).optional(),
  }),
  z.strictObject({ type: z.literal('unsubscribe'), id: z.string().min(1).max(100) }),
  z.strictObject({
    type: z.literal('sessions'),
    id: z.string().min(1).max(100),
    limit: z.number().int().min(1).max(1000).optional(),
  }),
]);

/** Messages the server sends on a WebSocket. */
export const socketMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribed'), id: z.string(), sessionId: z.string(), after: z.number().int() }),
  z.object({ type: z.literal('event'), id: z.string(), event: eventSchema }),
  z.object({ type: z.literal('session'), id: z.string(), session: sessionListRow }),
  z.object({
    type: z.literal('lagged'),
    id: z.string(),
    fromSeq: z.number().int(),
    toSeq: z.number().int(),
    missed: z.number().int(),
  }),
  z.object({ type: z.literal('heartbeat'), at: z.string() }),
  z.object({ type: z.literal('unsubscribed'), id: z.string() }),
  z.object({
    type: z.literal('error'),
    id: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
  }),
]);

export const liveSocket = route({
  method: 'GET',
  path: '/v1/live',
  operationId: 'liveSocket',
  summary: 'A WebSocket carrying several session streams and the sessions list',
  description:
    'Send JSON messages: `{ type: "subscribe", id, sessionId, after?, types?, agent?, severity? }`, `{ type: "unsubscribe", id }`, `{ type: "sessions", id, limit? }`. The server sends `subscribed`, `event`, `session`, `lagged`, `heartbeat`, `unsubscribed` and `error` messages, each naming the subscription `id`.',
  tag: 'streams',
  scope: 'read',
  response: z.string(),
  produces: 'application/json',
});

import { OrchestratorError, toOrchestratorError } from '../../errors/index.ts';
import { compileFilter, type OrchestratorEvent } from '../../events/index.ts';
import type { Logger } from '../../logging/index.ts';
import { socketRequest } from '../contract/streams.ts';
import { invalidRequest } from '../schemas.ts';
import type { SessionViews } from '../views/sessions.ts';
import type { StreamClients } from './clients.ts';
import type { SharedFrames, StreamMessage, StreamSink } from './fanout.ts';
import type { SessionFeed } from './feed.ts';
import { eventJson, filterKey, pumpSession } from './pump.ts';
import { followSessions } from './sessions-stream.ts';
import type { TailHub } from './tail.ts';

/** What a WebSocket route uses of the `ws` socket (typed here: the package ships no types). */
export interface Socket {
  send(data: string, callback?: (error?: Error) => void): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  /** Cuts the connection without the closing handshake. */
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | string) => void): void;
  on(event: 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}

/** What a socket's subscriptions use. */
export interface SocketDeps {
  readonly hub: TailHub;
  readonly feed: SessionFeed;
  readonly views: SessionViews;
  readonly clients: StreamClients;
  readonly read: (sessionId: string, fromSeq: number, limit: number) => Promise<readonly OrchestratorEvent[]>;
  readonly lastSeq: (sessionId: string) => Promise<number>;
  readonly heartbeatMs: number;
  readonly batch: number;
  readonly logger: Logger;
}

/** Bytes a socket may hold unsent before its streams wait for it. */
const SOCKET_HIGH_WATER = 256 * 1024;
/** Subscriptions one socket may hold. */
const MAX_SUBSCRIPTIONS = 100;
const OPEN = 1;

/**
 * One WebSocket carrying several streams: session event streams (`subscribe`) and the sessions
 * list (`sessions`), each named by the client's id. Every stream waits for the socket when more
 * than {@link SOCKET_HIGH_WATER} bytes are unsent, so a slow client holds a bounded amount; a
 * bad message gets an `error` message and the socket stays open.
 */
export function serveSocket(socket: Socket, deps: SocketDeps): void {
  const subscriptions = new Map<string, AbortController>();
  const closed = new AbortController();
  const forget = deps.clients.add({
    kind: 'ws',
    what: 'socket',
    bufferedBytes: () => socket.bufferedAmount,
    close: () => {
      socket.close(1001, 'server shutting down');
      // A client that reads nothing more never answers the close: cut it after a second.
      setTimeout(() => socket.terminate(), 1000).unref();
    },
  });
  const send = (message: Record<string, unknown> | string): Promise<void> | undefined => {
    if (socket.readyState !== OPEN) return undefined;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (socket.bufferedAmount < SOCKET_HIGH_WATER) {
      socket.send(text);
      return undefined;
    }
    // Sent once the socket took it: the stream waits for that before the next message.
    return new Promise((resolve) => socket.send(text, () => resolve()));
  };
  // Event messages never wait one by one: a stream writes a run and, when the socket holds more
  // than the high-water mark, waits once until the socket took what it had (`drained`).
  let waiting: (() => void)[] = [];
  const sent = () => {
    if (waiting.length === 0 || (socket.readyState === OPEN && socket.bufferedAmount >= SOCKET_HIGH_WATER)) return;
    const wake = waiting;
    waiting = [];
    for (const resolve of wake) resolve();
  };
  const writer: SocketWriter = {
    sendAll(texts) {
      if (socket.readyState !== OPEN) return true;
      for (const text of texts) socket.send(text, sent);
      return socket.bufferedAmount < SOCKET_HIGH_WATER;
    },
    send: (message) => {
      if (socket.readyState !== OPEN) return true;
      socket.send(JSON.stringify(message), sent);
      return socket.bufferedAmount < SOCKET_HIGH_WATER;
    },
    drained: () =>
      socket.readyState !== OPEN || socket.bufferedAmount < SOCKET_HIGH_WATER
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push(resolve)),
  };
  const fail = (error: unknown, id?: string) => {
    const failure = toOrchestratorError(error);
    void send({
      type: 'error',
      ...(id !== undefined && { id }),
      error: { code: failure.code, message: failure.message, details: failure.details },
    });
  };

  socket.on('message', (data) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(data));
    } catch {
      fail(new OrchestratorError('INVALID_ARGUMENT', 'message: not valid JSON', { details: { field: 'message' } }));
      return;
    }
    const request = socketRequest.safeParse(parsed);
    if (!request.success) {
      fail(invalidRequest('message', request.error), idOf(parsed));
      return;
    }
    const message = request.data;
    if (message.type === 'unsubscribe') {
      subscriptions.get(message.id)?.abort();
      subscriptions.delete(message.id);
      void send({ type: 'unsubscribed', id: message.id });
      return;
    }
    if (subscriptions.has(message.id)) {
      fail(new OrchestratorError('INVALID_ARGUMENT', `subscription "${message.id}" already exists`), message.id);
      return;
    }
    if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
      fail(
        new OrchestratorError('LIMIT_EXCEEDED', `at most ${MAX_SUBSCRIPTIONS} subscriptions per socket`),
        message.id,
      );
      return;
    }
    const controller = new AbortController();
    subscriptions.set(message.id, controller);
    const signal = AbortSignal.any([controller.signal, closed.signal]);
    const run =
      message.type === 'subscribe'
        ? subscribeSession(message, signal, writer, deps)
        : subscribeSessions(message.id, message.limit ?? 100, signal, send, deps);
    run
      .catch((error: unknown) => fail(error, message.id))
      .finally(() => {
        if (subscriptions.get(message.id) === controller) subscriptions.delete(message.id);
      });
  });
  socket.on('error', (error) => deps.logger.debug({ err: error }, 'a WebSocket failed'));
  socket.on('close', () => {
    sent();
    closed.abort();
    forget();
  });
}

/** How a socket's session streams write: never waiting per message, told when to stop. */
interface SocketWriter {
  /** Sends the messages in order; false once the socket holds more than its high-water mark. */
  sendAll(texts: readonly string[]): boolean;
  send(message: Record<string, unknown>): boolean;
  /** Settles once the socket holds less than its high-water mark (or closed). */
  drained(): Promise<void>;
}

async function subscribeSession(
  message: Extract<ReturnType<typeof socketRequest.parse>, { type: 'subscribe' }>,
  signal: AbortSignal,
  writer: SocketWriter,
  deps: SocketDeps,
): Promise<void> {
  const { id, sessionId } = message;
  const prefix = `{"type":"event","id":${JSON.stringify(id)},"event":`;
  const filter = compileFilter({
    sessionId,
    ...(message.types !== undefined && { pattern: message.types }),
    ...(message.agent !== undefined && { agentId: message.agent }),
    ...(message.severity !== undefined && { minSeverity: message.severity }),
  });
  if ((await deps.lastSeq(sessionId)) === 0) {
    throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
  }
  const after = message.after ?? 0;
  const tail = await deps.hub.acquire(sessionId);
  const sink: StreamSink = {
    // One message per event (the protocol); the messages of a run are made once for every
    // subscription with the same id among the clients of the delivery.
    events: (events, frames: SharedFrames) =>
      writer.sendAll(frames.memo(prefix, () => events.map((event) => `${prefix}${eventJson(event)}}`))),
    send: (m: StreamMessage) => writer.send(wsMessage(id, m)),
    drained: () => writer.drained(),
  };
  try {
    if (!writer.send({ type: 'subscribed', id, sessionId, after })) await writer.drained();
    await pumpSession({
      tail,
      read: (fromSeq, limit) => deps.read(sessionId, fromSeq, limit),
      filter,
      groupKey: `ws:${filterKey(message.types, message.agent, message.severity)}`,
      after,
      follow: true,
      heartbeatMs: deps.heartbeatMs,
      batch: deps.batch,
      signal,
      sink,
    });
  } finally {
    deps.hub.release(tail);
  }
}

async function subscribeSessions(
  id: string,
  limit: number,
  signal: AbortSignal,
  send: (message: Record<string, unknown> | string) => Promise<void> | undefined,
  deps: SocketDeps,
): Promise<void> {
  await followSessions({
    feed: deps.feed,
    views: deps.views,
    limit,
    heartbeatMs: deps.heartbeatMs,
    signal,
    send: (row) => send({ type: 'session', id, session: row }),
    heartbeat: (at) => send({ type: 'heartbeat', id, at }),
  });
}

function wsMessage(id: string, message: StreamMessage): Record<string, unknown> {
  switch (message.kind) {
    case 'heartbeat':
      return { type: 'heartbeat', id, at: message.at };
    case 'lagged':
      return { type: 'lagged', id, fromSeq: message.fromSeq, toSeq: message.toSeq, missed: message.missed };
  }
}

function idOf(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id.slice(0, 100) : undefined;
}

import type { ServerResponse } from 'node:http';
import { eventJson, type StreamMessage, type StreamSink } from './pump.ts';

/** Headers of every SSE answer. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Proxies such as nginx would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const;

/** Starts an SSE answer on a raw response the route took over (hijacked). */
export function openSse(raw: ServerResponse, headers: Record<string, string> = {}): void {
  raw.writeHead(200, { ...SSE_HEADERS, ...headers });
  // How long EventSource waits before reconnecting.
  raw.write('retry: 2000\n\n');
}

/**
 * Writes a chunk; undefined when the response can take more, else a promise that settles once
 * it drained (or closed): the backpressure of every SSE stream.
 */
export function writeSse(raw: ServerResponse, chunk: string): Promise<void> | undefined {
  if (raw.destroyed || raw.writableEnded) return undefined;
  if (raw.write(chunk)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

/** One SSE frame: `id` only on events, so a heartbeat never moves the client's Last-Event-ID. */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A session stream's sink over SSE: events with their sequence number as id, heartbeats, lag notices. */
export function sseSink(raw: ServerResponse): StreamSink {
  return {
    events(events) {
      let chunk = '';
      for (const event of events) chunk += `id: ${event.seq}\nevent: ${event.type}\ndata: ${eventJson(event)}\n\n`;
      return writeSse(raw, chunk);
    },
    send(message: StreamMessage) {
      switch (message.kind) {
        case 'heartbeat':
          return writeSse(raw, sseFrame('heartbeat', { at: message.at }));
        case 'lagged':
          return writeSse(
            raw,
            sseFrame('lagged', { fromSeq: message.fromSeq, toSeq: message.toSeq, missed: message.missed }),
          );
      }
    },
  };
}

import type { ServerResponse } from 'node:http';
import type { AnyEvent } from '../../events/index.ts';
import type { SharedFrames, StreamMessage, StreamSink } from './fanout.ts';
import { eventJson } from './pump.ts';

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

/** The SSE frames of events: their sequence number as id, their type as the event name. */
export function sseEventFrames(events: readonly AnyEvent[]): string {
  let chunk = '';
  for (const event of events) {
    chunk += `id: ${event.seq}\nevent: ${event.type}\ndata: ${eventJson(event)}\n\n`;
  }
  return chunk;
}

/**
 * A session stream's sink over SSE: events with their sequence number as id, heartbeats, lag
 * notices. A run of events is one write of one buffer, encoded once for every client of the
 * delivery (`frames`), so the response neither concatenates nor re-encodes it per client.
 */
export function sseSink(raw: ServerResponse): StreamSink {
  let draining: Promise<void> | undefined;
  const write = (chunk: string | Buffer): boolean => {
    // A closed response takes nothing more; its stream ends on the close signal.
    if (raw.destroyed || raw.writableEnded) return true;
    return raw.write(chunk);
  };
  return {
    events(events, frames: SharedFrames) {
      return write(frames.memo('sse', () => Buffer.from(sseEventFrames(events))));
    },
    send(message: StreamMessage, frames: SharedFrames) {
      switch (message.kind) {
        case 'heartbeat':
          return write(frames.memo('sse', () => Buffer.from(sseFrame('heartbeat', { at: message.at }))));
        case 'lagged':
          return write(sseFrame('lagged', { fromSeq: message.fromSeq, toSeq: message.toSeq, missed: message.missed }));
      }
    },
    drained() {
      if (!raw.writableNeedDrain || raw.destroyed) return Promise.resolve();
      draining ??= new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done);
          raw.off('close', done);
          draining = undefined;
          resolve();
        };
        raw.on('drain', done);
        raw.on('close', done);
      });
      return draining;
    },
  };
}

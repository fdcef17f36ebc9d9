import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { WireUsage } from './contract.ts';
import type { DeadlineSweep } from './deadlines.ts';
import type { FaultKind } from './retry.ts';
import { SseUsageReader, usageOfJson } from './wire.ts';

/** Options of {@link streamResponse}. */
export interface StreamOptions {
  /** The model the request named, for a response that names none (asked only then). */
  readonly fallbackModel: () => string;
  readonly idleTimeoutMs: number;
  /** Keeps the idle timeout. */
  readonly sweep: DeadlineSweep;
  /** Keep the whole body (for `observe` hooks); otherwise only what usage needs is kept. */
  readonly keepBody: boolean;
  readonly headers: OutgoingHttpHeaders;
}

/** How a forwarded response went. The agent's response is left open until {@link Streamed.finish}. */
export interface Streamed {
  readonly usage: WireUsage | undefined;
  readonly fault: FaultKind | undefined;
  readonly faultMessage: string | undefined;
  /** `performance.now()` when the first body chunk came. */
  readonly firstByteAt: number | undefined;
  readonly body: Buffer | undefined;
  /** Ends the agent's response: cleanly, or by cutting it when the upstream's was cut. */
  finish(): void;
}

/** Largest JSON body read for its usage (a non-streaming answer); larger ones pass unread. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Forwards a response to the agent as it arrives: each chunk is written at once (no
 * buffering), and when the agent's socket is full the upstream is paused until it drains, so
 * a slow agent holds back its own stream only. Usage is read on the side. A stream silent for
 * `idleTimeoutMs`, cut by the upstream, ended before `message_stop`, or carrying malformed
 * data or an `error` event is reported as a fault; the agent then gets a cut stream.
 */
export function streamResponse(
  response: IncomingMessage,
  res: ServerResponse,
  options: StreamOptions,
): Promise<Streamed> {
  const contentType = String(response.headers['content-type'] ?? '');
  const sse = contentType.startsWith('text/event-stream');
  const reader = sse ? new SseUsageReader('') : undefined;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let firstByteAt: number | undefined;
  res.writeHead(response.statusCode ?? 502, options.headers);
  return new Promise((resolve) => {
    let settled = false;
    const done = (fault: FaultKind | undefined, faultMessage?: string) => {
      if (settled) return;
      settled = true;
      idle.cancel();
      res.off('drain', onDrain);
      const body = kept.length > 0 || options.keepBody ? Buffer.concat(kept, keptBytes) : undefined;
      let usage = reader ? reader.usage : body && !sse ? usageOfJson(body.toString('utf8'), '') : undefined;
      if (usage?.model === '') usage = { ...usage, model: options.fallbackModel() };
      resolve({
        usage,
        fault,
        faultMessage,
        firstByteAt,
        body: options.keepBody ? body : undefined,
        finish: () => (fault === undefined ? res.end() : res.destroy()),
      });
    };
    const keepJson = !sse;
    const idle = options.sweep.watch(options.idleTimeoutMs, () => {
      response.destroy();
      done('idle_timeout', `no bytes for ${options.idleTimeoutMs} ms`);
    });
    const onDrain = () => response.resume();
    response.on('data', (chunk: Buffer) => {
      firstByteAt ??= performance.now();
      idle.touch();
      reader?.feed(chunk);
      if (options.keepBody || (keepJson && keptBytes + chunk.length <= MAX_JSON_BYTES)) {
        kept.push(chunk);
        keptBytes += chunk.length;
      }
      if (!res.write(chunk)) {
        response.pause();
        res.once('drain', onDrain);
      }
    });
    response.on('end', () => {
      if (reader?.malformed) done('malformed', reader.malformed);
      else if (reader?.streamError) done('stream_error', reader.streamError);
      else if (reader && (response.statusCode ?? 0) < 300 && !reader.complete)
        done('cut', 'the stream ended before message_stop');
      else done(undefined);
    });
    response.on('aborted', () => done('cut', 'the upstream cut the stream'));
    response.on('error', (error) => done('cut', `the upstream stream broke: ${error.message}`));
    res.on('close', () => {
      if (!res.writableFinished) {
        response.destroy();
        done('cut', 'the agent closed its connection');
      }
    });
  });
}

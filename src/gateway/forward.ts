import type http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayRequest } from './contract.ts';
import type { DeadlineSweep } from './deadlines.ts';
import type { Hangup } from './hangup.ts';
import { type Recorder, retryEvent } from './record.ts';
import {
  classify,
  type FaultKind,
  isRetryableFault,
  isRetryableStatus,
  type PauseGate,
  type RetrySettings,
  retryAfterMs,
  retryDelayMs,
} from './retry.ts';

/**
 * The socket-level part of the proxy: one try of a request against the upstream up to its
 * response headers (with the timeout to first byte), the retry loop around it, and the
 * headers copied across. What happens to the body is the exchange's (`exchange.ts`).
 */

/** The outcome of one try: a response to forward (or retry), or a fault before any. */
export type TryOutcome =
  | { readonly kind: 'response'; readonly response: IncomingMessage; readonly headersMs: number }
  | { readonly kind: 'fault'; readonly fault: FaultKind; readonly message: string };

/** The upstream's origin and path prefix, and the keep-alive agent its requests share. */
export interface Upstream {
  readonly url: URL;
  /** The operator's base URL may have a path (`https://gw.example/anthropic`): prefixed to every path. */
  readonly prefix: string;
  readonly agent: http.Agent;
  readonly request: typeof http.request;
}

/** An upstream for a base URL, with a keep-alive agent sized for many concurrent streams. */
export function upstreamOf(base: string): Upstream {
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  // Sockets are kept and reused most-recent first (lifo), so a quiet period lets the others
  // time out rather than keeping all of them half-warm.
  const options = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' as const };
  // node:http (about 15 MB resident) is taken when an upstream is made, not at import (issue 15).
  const transport = secure ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  return {
    url,
    prefix: url.pathname.replace(/\/+$/, ''),
    agent: new transport.Agent(options),
    request: transport.request,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Headers an HTTP hop owns: never copied across the proxy. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * The agent's headers for the upstream: its token replaced by the real key, hop headers
 * dropped. `content-length` is left for {@link tryOnce}, which knows the body it sends.
 */
export function upstreamHeaders(incoming: IncomingHttpHeaders, apiKey: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-api-key' || name === 'authorization') continue;
    out[name] = value;
  }
  out['x-api-key'] = apiKey;
  return out;
}

/** The upstream's response headers for the agent; a final failure tells Claude Code not to retry (the gateway did). */
export function responseHeaders(incoming: IncomingHttpHeaders, failed: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  if (failed) out['x-should-retry'] = 'false';
  return out;
}

/**
 * Sends one try and resolves when its response headers came, or with the fault that stopped
 * it: unreachable (refused, no route), cut (the connection broke first), or no headers within
 * `firstByte.timeoutMs`. Never rejects. The agent hanging up aborts it as a cut.
 * `headers` gets the body's `content-length`.
 */
export function tryOnce(
  upstream: Upstream,
  path: string,
  method: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  firstByte: { readonly sweep: DeadlineSweep; readonly timeoutMs: number },
  hangup: Hangup,
): Promise<TryOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    const done = (outcome: TryOutcome) => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      stopListening();
      resolve(outcome);
    };
    headers['content-length'] = body.length;
    const req = upstream.request({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      path: upstream.prefix + path,
      method,
      headers,
      agent: upstream.agent,
    });
    const deadline = firstByte.sweep.watch(firstByte.timeoutMs, () => {
      done({ kind: 'fault', fault: 'first_byte_timeout', message: `no response within ${firstByte.timeoutMs} ms` });
      req.destroy();
    });
    const stopListening = hangup.on(() => {
      done({ kind: 'fault', fault: 'cut', message: 'the agent closed its connection' });
      req.destroy();
    });
    req.on('response', (response) => done({ kind: 'response', response, headersMs: performance.now() - started }));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      done({
        kind: 'fault',
        fault: UNREACHABLE.has(code) ? 'unreachable' : 'cut',
        message: `upstream ${UNREACHABLE.has(code) ? 'unreachable' : 'connection broke'}: ${code || error.message}`,
      });
    });
    req.end(body);
  });
}

/** What the retry loop works with. */
export interface RetryContext {
  readonly upstream: Upstream;
  readonly gate: PauseGate;
  readonly settings: RetrySettings;
  /** The timeout to a response's headers, and the sweep that keeps it. */
  readonly firstByte: { readonly sweep: DeadlineSweep; readonly timeoutMs: number };
  readonly stats: { upstreamTries: number; retries: number };
  readonly record: Recorder;
  /** Takes in a response's rate-limit headers (cheap: the work is deferred). */
  learn(headers: IncomingHttpHeaders): void;
}

/**
 * Tries until a response worth forwarding (or a fault past the retries): retryable statuses
 * and faults before any byte are retried with backoff, `retry-after` honoured and shared.
 * `request` (a Messages request) gets a `model.retry` event per retry. `onTry` hears each try.
 */
export async function forwardWithRetries(
  context: RetryContext,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  hangup: Hangup,
  request: GatewayRequest | undefined,
  onTry?: (tries: number) => void,
): Promise<TryOutcome> {
  const { gate, settings, stats } = context;
  for (let attempt = 1; ; attempt++) {
    const paused = gate.remainingMs();
    if (paused > 0) await sleep(paused, undefined, { signal: hangup.signal }).catch(() => undefined);
    stats.upstreamTries++;
    onTry?.(attempt);
    const outcome = await tryOnce(context.upstream, path, method, headers, body, context.firstByte, hangup);
    if (outcome.kind === 'response') context.learn(outcome.response.headers);
    const last = attempt > settings.maxRetries || hangup.hungUp;
    let status = 0;
    let after: number | undefined;
    let kind: FaultKind;
    if (outcome.kind === 'response') {
      status = outcome.response.statusCode ?? 0;
      const refusesRetry = outcome.response.headers['x-should-retry'] === 'false';
      if (!isRetryableStatus(status) || refusesRetry || last) return outcome;
      after = retryAfterMs(outcome.response.headers['retry-after']);
      if ((status === 429 || status === 529) && after !== undefined) gate.pause(Math.min(after, settings.maxDelayMs));
      outcome.response.resume();
      kind = 'status';
    } else {
      if (!isRetryableFault(outcome.fault) || last) return outcome;
      kind = outcome.fault;
    }
    const delayMs = retryDelayMs(settings, attempt, after);
    stats.retries++;
    if (request) {
      const reason = classify(kind, status, kind).code;
      context.record(request.agent.sessionId, [
        retryEvent(request, attempt + 1, settings.maxRetries, delayMs, status, kind, reason),
      ]);
    }
    await sleep(delayMs, undefined, { signal: hangup.signal }).catch(() => undefined);
  }
}

import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { FaultKind } from './retry.ts';

/**
 * One try of a request against the upstream, up to its response headers: the socket-level
 * part of the proxy, with the timeout to first byte. What happens to the body is the proxy's.
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
  const options = { keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' as const };
  return {
    url,
    prefix: url.pathname.replace(/\/+$/, ''),
    agent: secure ? new https.Agent(options) : new http.Agent(options),
    request: secure ? https.request : http.request,
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Headers an HTTP hop owns: never copied across the proxy. */
export const HOP_BY_HOP = new Set([
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
 * Sends one try and resolves when its response headers came, or with the fault that stopped
 * it: unreachable (refused, no route), cut (the connection broke first), or no headers within
 * `firstByteTimeoutMs`. Never rejects. `signal` (the agent went away) aborts it as a cut.
 */
export function tryOnce(
  upstream: Upstream,
  path: string,
  method: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  firstByteTimeoutMs: number,
  signal: AbortSignal,
): Promise<TryOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    const done = (outcome: TryOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const req = upstream.request({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      path: upstream.prefix + path,
      method,
      headers: { ...headers, 'content-length': body.length },
      agent: upstream.agent,
    });
    const timer = setTimeout(() => {
      done({ kind: 'fault', fault: 'first_byte_timeout', message: `no response within ${firstByteTimeoutMs} ms` });
      req.destroy();
    }, firstByteTimeoutMs);
    const onAbort = () => {
      done({ kind: 'fault', fault: 'cut', message: 'the agent closed its connection' });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
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

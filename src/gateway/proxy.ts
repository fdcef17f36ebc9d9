import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type NewEvent, newPrefixedId } from '../events/index.ts';
import type { AgentIdentity, GatewayHooks } from './contract.ts';
import { DeadlineSweep, tickFor } from './deadlines.ts';
import { type ExchangeContext, serveMessages } from './exchange.ts';
import { forwardWithRetries, responseHeaders, upstreamHeaders, upstreamOf } from './forward.ts';
import { Hangup } from './hangup.ts';
import { MemoryRateLimitStore, RateLimiter, type RateLimitStore, rateKeyOf } from './rate-limits.ts';
import type { RateLimits } from './rate-plan.ts';
import type { Recorder } from './record.ts';
import { faultStatus, readBody, reject } from './replies.ts';
import { PauseGate } from './retry.ts';
import { type AgentToken, TokenRegistry, tokenOf } from './tokens.ts';
import { SubagentTracker } from './wire.ts';

/** Where the gateway records its events: the session log (only `append` is used). */
export interface GatewayLog {
  append(sessionId: string, events: readonly NewEvent[]): Promise<unknown>;
}

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The upstream's base URL: Anthropic's, the operator's `ANTHROPIC_BASE_URL`, or the scripted model server. */
  readonly upstream: string;
  /** The real key, put on every upstream request as `x-api-key`. Never given to an agent. */
  readonly apiKey: string;
  /** Decisions plugged in (budgets, record and replay), run in order. @default none */
  readonly hooks?: readonly GatewayHooks[];
  /** Receives `model.request` and `model.retry` events, in the agent's session. */
  readonly log: GatewayLog;
  /** Retries of a failed request (429, 529, 5xx, connection faults) before the agent gets the failure. @default 4 */
  readonly maxRetries?: number;
  /**
   * Wait for an upstream's response headers before the try counts as failed. Timeouts are
   * swept by one timer: they fire up to a fifth of their length late. @default 120000
   */
  readonly firstByteTimeoutMs?: number;
  /** Longest silence between two chunks of a response body before it is cut. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** First backoff delay (doubling, with jitter) when the upstream gave no `retry-after`. @default 500 */
  readonly retryBaseDelayMs?: number;
  /** Longest wait before a retry, `retry-after` included. @default 30000 */
  readonly retryMaxDelayMs?: number;
  /** Where problems the gateway cannot record in a session go (unknown tokens, hook errors). @default nowhere */
  readonly warn?: (message: string, details?: Record<string, unknown>) => void;
  /**
   * Limits per minute of the upstream key (`requests`, `inputTokens`, `outputTokens`); the
   * tighter of these and what the upstream's `anthropic-ratelimit-*` headers report wins.
   * @default none (unlimited until learned)
   */
  readonly rateLimits?: RateLimits;
  /** Where the buckets live (a shared store lets several workers share a key's limits). @default in memory, with `rateLimits` */
  readonly rateLimitStore?: RateLimitStore;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** Counters of a running gateway, for tests and diagnosis. */
export interface GatewayStats {
  /** Requests received with a valid token. */
  requests: number;
  /** Tries sent to the upstream (retries included). */
  upstreamTries: number;
  retries: number;
  /** Requests refused: unknown token, or a hook's refusal. */
  refused: number;
  /** Responses being streamed to agents now. */
  open: number;
  /** Requests waiting now for the rate limits. */
  readonly queued: number;
}

/** A running gateway. */
export interface Gateway {
  /** `http://127.0.0.1:<port>`: the agents' `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  readonly stats: Readonly<GatewayStats>;
  /** Mints a token for an agent; release it when the agent ends. */
  mint(identity: AgentIdentity): AgentToken;
  /**
   * Mints a token for a warm pool's spare, started before its agent exists: its requests are
   * refused (401, not retried) until {@link bind} names the agent that took the spare. Release
   * it when the spare is discarded, or when that agent ends.
   */
  mintSpare(): AgentToken;
  /**
   * Binds a spare token to the agent that took the spare, once: its requests are that agent's
   * from now on (events, budgets). @throws OrchestratorError `INVALID_ARGUMENT` for a token
   * that is released, an agent's, or already bound.
   */
  bind(token: string, identity: AgentIdentity): void;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the model gateway on loopback (a random port): every agent's model traffic passes
 * through it. Per request: the token is checked and mapped to its agent, `admit` hooks run,
 * the request goes upstream with the real key, retries are decided here (shared pause on a
 * 429/529 with `retry-after`), the response is streamed back as it arrives while its usage is
 * read on the side, and one `model.request` event records it; `settle` runs exactly once per
 * admitted request, `observe` once per complete exchange (see `exchange.ts`).
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const upstream = upstreamOf(options.upstream);
  const tokens = new TokenRegistry();
  const subagents = new SubagentTracker();
  const gate = new PauseGate();
  const hooks = options.hooks ?? [];
  const warn = options.warn ?? (() => undefined);
  const limiter = new RateLimiter({
    store: options.rateLimitStore ?? new MemoryRateLimitStore({ limits: options.rateLimits ?? {} }),
    key: rateKeyOf(options.apiKey),
    gate,
    warn,
  });
  const stats: GatewayStats = {
    requests: 0,
    upstreamTries: 0,
    retries: 0,
    refused: 0,
    open: 0,
    get queued() {
      return limiter.queued;
    },
  };
  const record: Recorder = (sessionId, events) => {
    options.log.append(sessionId, events).catch((error: unknown) => {
      warn('gateway: an event could not be recorded', { error: String(error) });
    });
  };
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 120_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const sweep = new DeadlineSweep(tickFor(firstByteTimeoutMs, idleTimeoutMs));
  // Request ids: one random base per gateway and a counter, unique without a UUID per request.
  const idBase = newPrefixedId('mreq');
  let requestSeq = 0;
  const context: ExchangeContext = {
    upstream,
    gate,
    settings: {
      maxRetries: options.maxRetries ?? 4,
      baseDelayMs: options.retryBaseDelayMs ?? 500,
      maxDelayMs: options.retryMaxDelayMs ?? 30_000,
    },
    firstByte: { sweep, timeoutMs: firstByteTimeoutMs },
    idleTimeoutMs,
    stats,
    record,
    learn: (headers) => limiter.learn(headers),
    hooks,
    observing: hooks.some((hook) => hook.observe),
    limiter,
    subagents,
    warn,
    nextRequestId: () => `${idBase}${(++requestSeq).toString(36)}`,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    if (!path.startsWith('/v1/')) {
      req.resume();
      return reject(res, 404, 'not_found_error', `Not found: ${path}`);
    }
    const token = tokenOf(req.headers);
    const holder = tokens.holder(token);
    const agent = holder?.identity;
    if (!agent || token === undefined) {
      req.resume();
      stats.refused++;
      // A spare's token stands for no one until an agent takes the spare: nobody to charge.
      const spare = holder?.kind === 'spare';
      warn(`gateway: refused a request with ${spare ? 'an unbound spare' : 'an unknown or ended'} token`, { path });
      return reject(
        res,
        401,
        'authentication_error',
        spare ? 'gateway token of a spare no agent has taken yet' : 'unknown or ended gateway token',
      );
    }
    stats.requests++;
    const raw = await readBody(req);
    if (raw === undefined) return reject(res, 413, 'request_too_large', 'request body too large');
    const hangup = new Hangup();
    res.once('close', () => {
      // Also emitted after a complete answer: only an unfinished one is a hang-up.
      if (!res.writableFinished) hangup.fire();
    });
    const headers = upstreamHeaders(req.headers, options.apiKey);
    const query = path.indexOf('?');
    const pathname = query < 0 ? path : path.slice(0, query);
    if (req.method === 'POST' && pathname === '/v1/messages') {
      return serveMessages(context, { agent, token, path, raw, headers, hangup }, res);
    }
    // Anything else under /v1 (count_tokens, models): a plain pass-through, retried alike, not recorded.
    const outcome = await forwardWithRetries(context, req.method ?? 'GET', path, headers, raw, hangup, undefined);
    if (outcome.kind === 'fault') return reject(res, faultStatus(outcome.fault), 'api_error', outcome.message);
    res.writeHead(outcome.response.statusCode ?? 502, responseHeaders(outcome.response.headers, false));
    outcome.response.pipe(res);
  };

  // node:http costs about 15 MB resident: taken when the gateway starts, not at import (issue 15).
  const { createServer } = process.getBuiltinModule('node:http');
  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      warn('gateway: request failed', { error: String(error) });
      if (!res.headersSent) reject(res, 500, 'api_error', 'internal gateway error');
      else res.destroy();
    });
  });
  // Streams may stay open as long as the model writes; the idle timeout is the gateway's own.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    stats,
    mint(identity) {
      return tokens.mint(identity);
    },
    mintSpare() {
      return tokens.mintSpare();
    },
    bind(token, identity) {
      tokens.bind(token, identity);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        limiter.close();
        sweep.stop();
        server.close(() => resolve());
        server.closeAllConnections();
        upstream.agent.destroy();
      });
      return closing;
    },
  };
}

import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { toOrchestratorError } from '../errors/index.ts';
import { type NewEvent, newPrefixedId } from '../events/index.ts';
import type { AgentIdentity, GatewayHooks, GatewayRequest, RequestEnd } from './contract.ts';
import { HOP_BY_HOP, tryOnce, upstreamOf } from './forward.ts';
import { MemoryRateLimitStore, RateLimiter, type RateLimitStore, type RateTicket, rateKeyOf } from './rate-limits.ts';
import { costOf, type RateLimits } from './rate-plan.ts';
import { type Recorder, requestEvent, retryEvent } from './record.ts';
import {
  classify,
  type FaultKind,
  isRetryableFault,
  isRetryableStatus,
  PauseGate,
  retryAfterMs,
  retryDelayMs,
} from './retry.ts';
import { streamResponse } from './stream.ts';
import { type AgentToken, TokenRegistry, tokenOf } from './tokens.ts';
import { requestFacts, SubagentTracker } from './wire.ts';

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
  /** Wait for an upstream's response headers before the try counts as failed. @default 120000 */
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

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Starts the model gateway on loopback (a random port): every agent's model traffic passes
 * through it. Per request: the token is checked and mapped to its agent, `admit` hooks run,
 * the request goes upstream with the real key, retries are decided here (shared pause on a
 * 429/529 with `retry-after`), the response is streamed back as it arrives while its usage is
 * read on the side, and one `model.request` event records it; `settle` runs exactly once per
 * admitted request, `observe` once per complete exchange.
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
  const settings = {
    maxRetries: options.maxRetries ?? 4,
    baseDelayMs: options.retryBaseDelayMs ?? 500,
    maxDelayMs: options.retryMaxDelayMs ?? 30_000,
  };
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 120_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const record: Recorder = (sessionId, events) => {
    options.log.append(sessionId, events).catch((error: unknown) => {
      warn('gateway: an event could not be recorded', { error: String(error) });
    });
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
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const headers = upstreamHeaders(req.headers, options.apiKey);
    const pathname = path.split('?')[0];
    if (req.method !== 'POST' || pathname !== '/v1/messages') {
      // Anything else under /v1 (count_tokens, models): a plain pass-through, retried alike, not recorded.
      const outcome = await forwardWithRetries(req.method ?? 'GET', path, headers, raw, closed.signal, undefined);
      if (outcome.kind === 'fault') return reject(res, faultStatus(outcome.fault), 'api_error', outcome.message);
      res.writeHead(outcome.response.statusCode ?? 502, responseHeaders(outcome.response.headers, false));
      outcome.response.pipe(res);
      return;
    }
    const facts = requestFacts(raw);
    if (!facts) return reject(res, 400, 'invalid_request_error', 'request body is not a JSON object');
    const request: GatewayRequest = {
      requestId: newPrefixedId('mreq'),
      agent,
      subagent: subagents.subagentOf(token, facts.lastSystem),
      path,
      model: facts.model,
      stream: facts.stream,
      maxTokens: facts.maxTokens,
      inputTokensEstimate: facts.inputTokensEstimate,
      bodyDigest: facts.bodyDigest,
      body: facts.body,
    };
    // Reset once the request leaves the rate-limit queue: times are from forwarding, `queuedMs` apart.
    let started = performance.now();
    let maxTokens = facts.maxTokens;
    for (const hook of hooks) {
      if (!hook.admit) continue;
      let verdict: Awaited<ReturnType<NonNullable<GatewayHooks['admit']>>>;
      try {
        verdict = await hook.admit(request);
      } catch (error) {
        verdict = { ok: false, error: toOrchestratorError(error, 'INTERNAL') };
      }
      if (!verdict.ok) {
        stats.refused++;
        const status = verdict.error.status === 429 ? 429 : 400;
        const type = status === 429 ? 'rate_limit_error' : 'invalid_request_error';
        const end: RequestEnd = {
          status,
          usage: undefined,
          ok: false,
          durationMs: performance.now() - started,
          error: verdict.error,
        };
        record(agent.sessionId, [requestEvent(request, end, 0, undefined)]);
        return reject(res, status, type, `${verdict.error.code}: ${verdict.error.message}`);
      }
      if (verdict.maxTokens !== undefined && verdict.maxTokens < maxTokens) maxTokens = verdict.maxTokens;
    }
    const body =
      maxTokens === facts.maxTokens ? raw : Buffer.from(JSON.stringify({ ...facts.body, max_tokens: maxTokens }));
    let end: RequestEnd | undefined;
    let tries = 0;
    let ticket: RateTicket | undefined;
    const queuedAt = performance.now();
    try {
      // Waits its turn in the fair queue: never refused for lack of tokens; gone if its agent goes.
      ticket = await limiter.acquire(
        {
          sessionId: agent.sessionId,
          priority: agent.priority,
          cost: costOf(facts.inputTokensEstimate, maxTokens),
        },
        closed.signal,
      );
      const queuedMs = performance.now() - queuedAt;
      started = performance.now();
      if (!ticket) {
        const error = classify('client_closed', 0, 'the agent closed its connection while its request waited');
        end = { status: 0, usage: undefined, ok: false, durationMs: performance.now() - started, error };
        record(agent.sessionId, [requestEvent(request, end, 0, 'client_closed', queuedMs)]);
        return;
      }
      const outcome = await forwardWithRetries('POST', path, headers, body, closed.signal, request, (n) => {
        tries = n;
      });
      if (outcome.kind === 'fault') {
        const kind: FaultKind = closed.signal.aborted ? 'client_closed' : outcome.fault;
        const error = classify(kind, 0, outcome.message);
        end = { status: 0, usage: undefined, ok: false, durationMs: performance.now() - started, error };
        record(agent.sessionId, [requestEvent(request, end, tries, kind, queuedMs)]);
        if (!closed.signal.aborted)
          reject(
            res,
            faultStatus(kind),
            kind.endsWith('timeout') ? 'timeout_error' : 'api_error',
            `${error.code}: ${outcome.message}`,
          );
        return;
      }
      stats.open++;
      const observing = hooks.some((hook) => hook.observe);
      const streamed = await streamResponse(outcome.response, res, {
        model: facts.model,
        idleTimeoutMs,
        keepBody: observing,
        headers: responseHeaders(outcome.response.headers, (outcome.response.statusCode ?? 0) >= 400),
      }).finally(() => {
        stats.open--;
      });
      const status = outcome.response.statusCode ?? 0;
      const fault: FaultKind | undefined =
        streamed.fault && closed.signal.aborted && streamed.fault === 'cut' ? 'client_closed' : streamed.fault;
      const ok = fault === undefined && status < 400;
      const error =
        fault !== undefined
          ? classify(fault, status, streamed.faultMessage ?? fault)
          : status >= 400
            ? classify('status', status, `upstream answered ${status}`)
            : undefined;
      end = {
        status,
        usage: streamed.usage,
        ok,
        firstByteMs: streamed.firstByteAt === undefined ? undefined : streamed.firstByteAt - started,
        durationMs: performance.now() - started,
        ...(error && { error }),
      };
      // Recorded before the agent gets its last byte: its own events of the turn come after.
      record(agent.sessionId, [requestEvent(request, end, tries, fault, queuedMs)]);
      streamed.finish();
      if (fault === undefined && streamed.body) {
        const exchange = {
          request,
          status,
          contentType: String(outcome.response.headers['content-type'] ?? ''),
          body: streamed.body,
        };
        for (const hook of hooks) {
          try {
            hook.observe?.(exchange);
          } catch (hookError) {
            warn('gateway: an observe hook threw', { error: String(hookError) });
          }
        }
      }
    } catch (error) {
      const failure = toOrchestratorError(error, 'INTERNAL');
      end ??= { status: 0, usage: undefined, ok: false, durationMs: performance.now() - started, error: failure };
      if (!res.headersSent) reject(res, 500, 'api_error', `${failure.code}: ${failure.message}`);
      else res.destroy();
    } finally {
      const settled = end ?? { status: 0, usage: undefined, ok: false, durationMs: performance.now() - started };
      if (ticket) limiter.settle(ticket, usedOf(ticket, settled));
      for (const hook of hooks) {
        try {
          hook.settle?.(request, settled);
        } catch (hookError) {
          warn('gateway: a settle hook threw', { error: String(hookError) });
        }
      }
    }
  };

  /**
   * Tries until a response worth forwarding (or a fault past the retries): retryable statuses
   * and faults before any byte are retried with backoff, `retry-after` honoured and shared.
   */
  const forwardWithRetries = async (
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    signal: AbortSignal,
    request: GatewayRequest | undefined,
    onTry?: (tries: number) => void,
  ) => {
    for (let attempt = 1; ; attempt++) {
      const paused = gate.remainingMs();
      if (paused > 0) await sleep(paused, undefined, { signal }).catch(() => undefined);
      stats.upstreamTries++;
      onTry?.(attempt);
      const outcome = await tryOnce(upstream, path, method, headers, body, firstByteTimeoutMs, signal);
      if (outcome.kind === 'response') limiter.learn(outcome.response.headers);
      const last = attempt > settings.maxRetries || signal.aborted;
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
        record(request.agent.sessionId, [
          retryEvent(request, attempt + 1, settings.maxRetries, delayMs, status, kind, reason),
        ]);
      }
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  };

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
  const releasing = (minted: AgentToken): AgentToken => ({
    token: minted.token,
    release: () => {
      minted.release();
      subagents.forget(minted.token);
    },
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    stats,
    mint(identity) {
      return releasing(tokens.mint(identity));
    },
    mintSpare() {
      return releasing(tokens.mintSpare());
    },
    bind(token, identity) {
      tokens.bind(token, identity);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        limiter.close();
        server.close(() => resolve());
        server.closeAllConnections();
        upstream.agent.destroy();
      });
      return closing;
    },
  };
}

/** The agent's headers for the upstream: its token replaced by the real key, hop headers dropped. */
function upstreamHeaders(incoming: IncomingMessage['headers'], apiKey: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-api-key' || name === 'authorization') continue;
    out[name] = value;
  }
  out['x-api-key'] = apiKey;
  return out;
}

/** The upstream's response headers for the agent; a final failure tells Claude Code not to retry (the gateway did). */
function responseHeaders(incoming: IncomingMessage['headers'], failed: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  if (failed) out['x-should-retry'] = 'false';
  return out;
}

/**
 * What an ended request used of the rate limits, for settling what it took: its usage when one
 * came (cache reads do not count toward Anthropic's input limit), else its input if the
 * upstream answered and nothing of its output.
 */
function usedOf(ticket: RateTicket, end: RequestEnd) {
  const usage = end.usage;
  if (usage) return costOf(usage.inputTokens + usage.cacheCreationTokens, usage.outputTokens);
  return costOf(end.status > 0 ? ticket.cost.inputTokens : 0, 0);
}

function faultStatus(kind: FaultKind): number {
  return kind === 'first_byte_timeout' || kind === 'idle_timeout' ? 504 : 502;
}

/** An Anthropic-style error answer that Claude Code does not retry. */
function reject(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ type: 'error', error: { type, message }, request_id: newPrefixedId('req') });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-should-retry': 'false',
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

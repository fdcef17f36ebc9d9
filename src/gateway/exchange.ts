import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { toOrchestratorError } from '../errors/index.ts';
import type { AgentIdentity, GatewayHooks, GatewayRequest, RequestEnd } from './contract.ts';
import { forwardWithRetries, type RetryContext, responseHeaders } from './forward.ts';
import type { Hangup } from './hangup.ts';
import type { RateLimiter, RateTicket } from './rate-limits.ts';
import { costOf } from './rate-plan.ts';
import { requestEvent } from './record.ts';
import { faultStatus, reject } from './replies.ts';
import { classify, type FaultKind } from './retry.ts';
import { type Streamed, streamResponse } from './stream.ts';
import { RequestBody, type SubagentTracker } from './wire.ts';

/**
 * One Messages API request through the gateway, from its body to its `model.request` event:
 * admission by the hooks, the fair queue, forwarding with retries, streaming the answer back
 * while its usage is read, then recording and settling.
 *
 * Before the first byte reaches the agent only what deciding needs runs: the token lookup (by
 * the proxy), the hooks, the queue's synchronous fast path when nobody waits. The body is
 * parsed only if a hook reads it (the budget gate does when a budget covers the agent) and
 * otherwise right after it went upstream, while the model works; it is sent as received
 * unless `max_tokens` was lowered. No `AbortSignal` is made unless a wait needs one; the
 * digest, rate-limit learning and the event come after.
 */

/** What an exchange works with: the proxy's parts, shared by every request. */
export interface ExchangeContext extends RetryContext {
  readonly hooks: readonly GatewayHooks[];
  /** Some hook observes exchanges: bodies are kept whole. */
  readonly observing: boolean;
  readonly limiter: RateLimiter;
  readonly subagents: SubagentTracker;
  readonly idleTimeoutMs: number;
  readonly stats: { refused: number; open: number; upstreamTries: number; retries: number };
  readonly warn: (message: string, details?: Record<string, unknown>) => void;
  /** A new request id (unique in this process and across gateways). */
  nextRequestId(): string;
}

/** The request as the proxy received it, authenticated. */
export interface Incoming {
  readonly agent: AgentIdentity;
  readonly token: string;
  /** `/v1/messages` with its query string. */
  readonly path: string;
  readonly raw: Buffer;
  /** The headers for the upstream (see `upstreamHeaders`). */
  readonly headers: OutgoingHttpHeaders;
  readonly hangup: Hangup;
}

/** Serves one `POST /v1/messages`. Never rejects: failures are answered and recorded. */
export async function serveMessages(context: ExchangeContext, incoming: Incoming, res: ServerResponse): Promise<void> {
  const { agent, hangup } = incoming;
  const { hooks, stats, record, warn, limiter } = context;
  const facts = new RequestBody(incoming.raw);
  const request = new ForwardedRequest(context.nextRequestId(), agent, incoming.path, facts, (lastSystem) =>
    context.subagents.subagentOf(agent, lastSystem),
  );
  // Reset once the request leaves the rate-limit queue: times are from forwarding, `queuedMs` apart.
  let started = performance.now();
  let lowered: number | undefined;
  let admitted = false;
  let end: RequestEnd | undefined;
  let tries = 0;
  let ticket: RateTicket | undefined;
  try {
    for (const hook of hooks) {
      if (!hook.admit) continue;
      let verdict: Awaited<ReturnType<NonNullable<GatewayHooks['admit']>>>;
      try {
        const decided = hook.admit(request);
        // A synchronous verdict (the budget gate's) is taken as it is: no turn of the microtask queue.
        verdict = decided instanceof Promise ? await decided : decided;
      } catch (error) {
        verdict = { ok: false, error: toOrchestratorError(error, 'INTERNAL') };
      }
      if (!verdict.ok) {
        stats.refused++;
        const status = verdict.error.status === 429 ? 429 : 400;
        const type = status === 429 ? 'rate_limit_error' : 'invalid_request_error';
        end = { status, usage: undefined, ok: false, durationMs: performance.now() - started, error: verdict.error };
        record(agent.sessionId, [requestEvent(request, end, 0, undefined)]);
        return reject(res, status, type, `${verdict.error.code}: ${verdict.error.message}`);
      }
      if (verdict.maxTokens !== undefined && verdict.maxTokens < (lowered ?? request.maxTokens)) {
        lowered = verdict.maxTokens;
      }
    }
    admitted = true;
    // A hook that read the body found it is no Messages request: answered here. Unread, the
    // upstream answers it.
    if (facts.parsed && !facts.valid) {
      end = { status: 400, usage: undefined, ok: false, durationMs: 0 };
      return reject(res, 400, 'invalid_request_error', 'request body is not a JSON object');
    }
    // Sent as received unless a hook lowered `max_tokens` (the only change the gateway makes).
    const body =
      lowered === undefined ? incoming.raw : Buffer.from(JSON.stringify({ ...facts.body, max_tokens: lowered }));
    // Waits its turn in the fair queue: never refused for lack of tokens; gone if its agent goes.
    const wants = {
      sessionId: agent.sessionId,
      priority: agent.priority,
      cost: costOf(facts.inputTokensEstimate, lowered ?? facts.maxTokensHint),
    };
    const queuedAt = performance.now();
    ticket = limiter.tryAcquire(wants) ?? (await limiter.acquire(wants, hangup.signal));
    const queuedMs = ticket?.queuedMs === 0 ? 0 : performance.now() - queuedAt;
    started = performance.now();
    if (!ticket) {
      const error = classify('client_closed', 0, 'the agent closed its connection while its request waited');
      end = { status: 0, usage: undefined, ok: false, durationMs: 0, error };
      record(agent.sessionId, [requestEvent(request, end, 0, 'client_closed', queuedMs)]);
      return;
    }
    const forwarding = forwardWithRetries(
      context,
      'POST',
      incoming.path,
      incoming.headers,
      body,
      hangup,
      request,
      (n) => {
        tries = n;
      },
    );
    // The request is on its way: what the event needs of the body is read while the model works.
    if (!facts.parsed) setImmediate(() => request.subagent);
    const outcome = await forwarding;
    if (outcome.kind === 'fault') {
      const kind: FaultKind = hangup.hungUp ? 'client_closed' : outcome.fault;
      const error = classify(kind, 0, outcome.message);
      end = { status: 0, usage: undefined, ok: false, durationMs: performance.now() - started, error };
      record(agent.sessionId, [requestEvent(request, end, tries, kind, queuedMs)]);
      if (!hangup.hungUp)
        reject(
          res,
          faultStatus(kind),
          kind.endsWith('timeout') ? 'timeout_error' : 'api_error',
          `${error.code}: ${outcome.message}`,
        );
      return;
    }
    const response = outcome.response;
    const status = response.statusCode ?? 0;
    stats.open++;
    let streamed: Streamed;
    try {
      streamed = await streamResponse(response, res, {
        fallbackModel: () => request.model,
        idleTimeoutMs: context.idleTimeoutMs,
        sweep: context.firstByte.sweep,
        keepBody: context.observing,
        headers: responseHeaders(response.headers, status >= 400),
      });
    } finally {
      stats.open--;
    }
    const fault: FaultKind | undefined =
      streamed.fault && hangup.hungUp && streamed.fault === 'cut' ? 'client_closed' : streamed.fault;
    const error =
      fault !== undefined
        ? classify(fault, status, streamed.faultMessage ?? fault)
        : status >= 400
          ? classify('status', status, `upstream answered ${status}`)
          : undefined;
    end = {
      status,
      usage: streamed.usage,
      ok: fault === undefined && status < 400,
      firstByteMs: streamed.firstByteAt === undefined ? undefined : streamed.firstByteAt - started,
      durationMs: performance.now() - started,
      error,
    };
    // The last byte goes first, the event right after, in the same turn of the event loop:
    // the agent's own events of the turn can only come from later I/O, so they still come after
    // it in the log, and validating and storing the event no longer delays the agent.
    streamed.finish();
    record(agent.sessionId, [requestEvent(request, end, tries, fault, queuedMs)]);
    if (fault === undefined && streamed.body) {
      const contentType = String(response.headers['content-type'] ?? '');
      const exchange = { request, status, contentType, body: streamed.body };
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
    // `settle` once per admitted request (a refused one holds nothing).
    if (admitted) {
      for (const hook of hooks) {
        try {
          hook.settle?.(request, settled);
        } catch (hookError) {
          warn('gateway: a settle hook threw', { error: String(hookError) });
        }
      }
    }
  }
}

/**
 * A request as hooks see it. What needs the body (model, `max_tokens`, the body, the subagent)
 * is read from it on first use (see `RequestBody`); a class, so that these getters cost nothing
 * per request.
 */
class ForwardedRequest implements GatewayRequest {
  readonly requestId: string;
  readonly agent: AgentIdentity;
  readonly path: string;
  readonly inputTokensEstimate: number;
  readonly #facts: RequestBody;
  readonly #subagentOf: (lastSystem: string | undefined) => string | undefined;
  #subagent: string | undefined;
  #attributed = false;

  constructor(
    requestId: string,
    agent: AgentIdentity,
    path: string,
    facts: RequestBody,
    subagentOf: (lastSystem: string | undefined) => string | undefined,
  ) {
    this.requestId = requestId;
    this.agent = agent;
    this.path = path;
    this.inputTokensEstimate = facts.inputTokensEstimate;
    this.#facts = facts;
    this.#subagentOf = subagentOf;
  }

  get model(): string {
    return this.#facts.model;
  }

  get stream(): boolean {
    return this.#facts.stream;
  }

  get maxTokens(): number {
    return this.#facts.maxTokens;
  }

  get body(): Readonly<Record<string, unknown>> {
    return this.#facts.body;
  }

  get bodyDigest(): string {
    return this.#facts.bodyDigest;
  }

  get subagent(): string | undefined {
    if (!this.#attributed) {
      this.#attributed = true;
      this.#subagent = this.#subagentOf(this.#facts.lastSystem);
    }
    return this.#subagent;
  }
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

import { OrchestratorError } from '../errors/index.ts';

/**
 * The gateway's retry decisions, as pure functions over plain data: what a response or a
 * failure means, whether to try again, and how long to wait. The proxy owns the loop.
 */

/** How a forwarded request failed, before or while its response came. */
export type FaultKind =
  | 'status'
  | 'unreachable'
  | 'cut'
  | 'first_byte_timeout'
  | 'idle_timeout'
  | 'malformed'
  | 'stream_error'
  | 'client_closed';

/** Statuses worth another try: rate limited, overloaded, server errors (not 501, which will not change). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 529 || status === 408 || (status >= 500 && status !== 501);
}

/** Faults that happened before the agent got a byte, which a retry can cure. */
export function isRetryableFault(kind: FaultKind): boolean {
  return kind === 'unreachable' || kind === 'cut' || kind === 'first_byte_timeout';
}

/** The error code that names an upstream status or a fault (the AGENT_* codes Claude Code's failures map to). */
export function classify(kind: FaultKind, status: number, message: string): OrchestratorError {
  if (kind === 'client_closed') return new OrchestratorError('AGENT_INTERRUPTED', message);
  if (kind === 'first_byte_timeout' || kind === 'idle_timeout') return new OrchestratorError('AGENT_TIMEOUT', message);
  if (kind === 'unreachable' || kind === 'cut') return new OrchestratorError('AGENT_NETWORK', message);
  if (kind === 'malformed' || kind === 'stream_error') return new OrchestratorError('AGENT_API_ERROR', message);
  if (status === 429) return new OrchestratorError('AGENT_RATE_LIMITED', message);
  if (status === 529) return new OrchestratorError('AGENT_OVERLOADED', message);
  if (status === 401 || status === 403) return new OrchestratorError('AGENT_AUTH_FAILED', message);
  if (status >= 500) return new OrchestratorError('AGENT_API_ERROR', message);
  return new OrchestratorError('AGENT_INVALID_REQUEST', message);
}

/** `retry-after` (seconds, or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Retry settings, compiled (see the gateway options). */
export interface RetrySettings {
  /** Retries after the first try. */
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (1-based): `retry-after` when the upstream said, else
 * exponential backoff from the base with full jitter over its upper half, capped.
 */
export function retryDelayMs(
  settings: RetrySettings,
  retry: number,
  afterMs: number | undefined,
  random = Math.random,
): number {
  if (afterMs !== undefined) return Math.min(afterMs, settings.maxDelayMs);
  const exp = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (retry - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/**
 * A shared pause per upstream key: an upstream 429 or 529 with `retry-after` stops that key's
 * traffic for every agent until then, instead of each agent finding out with its own 429.
 * In memory, one process. The rate limiter's queue (`rate-limits.ts`) holds while it is
 * paused; retries of requests already let through wait for it here.
 */
export class PauseGate {
  #until = 0;

  /** Pauses until `ms` from now (a later pause extends, an earlier one does not shorten). */
  pause(ms: number, now = Date.now()): void {
    this.#until = Math.max(this.#until, now + ms);
  }

  /** Milliseconds left to wait now (0 when open). */
  remainingMs(now = Date.now()): number {
    return Math.max(0, this.#until - now);
  }
}

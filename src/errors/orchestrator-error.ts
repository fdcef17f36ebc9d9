import { ERROR_CODES, type ErrorCode } from './codes.ts';

/** Options of an {@link OrchestratorError}. */
export interface OrchestratorErrorOptions {
  /** The underlying error, kept for diagnosis. */
  cause?: unknown;
  /** Overrides the code's default retry verdict. */
  retryable?: boolean;
  /** Structured facts about the failure (file, line, node ids...), safe to serialize. */
  details?: Record<string, unknown>;
}

/**
 * The one base of every error the orchestrator throws: a stable `code` from the registry,
 * a `retryable` verdict, the HTTP status the API answers with, and the original `cause`.
 * Boundaries (CLI, HTTP, plugin host, workers) turn unknown throwables into it with
 * {@link toOrchestratorError}.
 */
export class OrchestratorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: OrchestratorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OrchestratorError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details ?? {};
  }

  /** The JSON shape used by the API and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** True when `value` is an {@link OrchestratorError}, optionally of one of the given codes. */
export function isOrchestratorError(value: unknown, ...codes: ErrorCode[]): value is OrchestratorError {
  return value instanceof OrchestratorError && (codes.length === 0 || codes.includes(value.code));
}

/** Normalizes any throwable into an {@link OrchestratorError}, keeping the original as `cause`. */
export function toOrchestratorError(value: unknown, fallback: ErrorCode = 'INTERNAL'): OrchestratorError {
  if (value instanceof OrchestratorError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new OrchestratorError(fallback, message, { cause: value });
}

/**
 * The registry of every error code the orchestrator raises. A code is stable once shipped:
 * retired codes stay listed (with `retired: true`) and are never reused. `test/errors` keeps
 * this table, the `ErrorCode` union and `docs/errors.md` in agreement.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { status: 500, retryable: false, summary: 'The configuration failed validation.' },
  INVALID_ARGUMENT: { status: 400, retryable: false, summary: 'An argument had the wrong shape or value.' },
  EVENT_INVALID: { status: 400, retryable: false, summary: 'An event did not match the schema of its type.' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, summary: 'The event store could not be reached.' },
  STORE_CLOSED: { status: 503, retryable: false, summary: 'The event store was used after close().' },
  STORE_CORRUPT: {
    status: 500,
    retryable: false,
    summary: 'A stored event failed its checksum or could not be decoded.',
  },
  STORE_MIGRATION_FAILED: { status: 500, retryable: false, summary: 'A schema migration of the store failed.' },
  STORE_NEWER_SCHEMA: {
    status: 500,
    retryable: false,
    summary: 'The store was written by a newer version of the orchestrator.',
  },
  SEQUENCE_CONFLICT: {
    status: 409,
    retryable: true,
    summary: 'An append expected a different last sequence number for the session.',
  },
  SESSION_NOT_FOUND: { status: 404, retryable: false, summary: 'No session has that id.' },
  SUBSCRIBER_FAILED: { status: 500, retryable: false, summary: 'An event subscriber threw or timed out.' },
  STREAM_CLOSED: { status: 410, retryable: false, summary: 'The event stream was closed.' },
  INTERNAL: { status: 500, retryable: false, summary: 'An unexpected internal error.' },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string; retired?: boolean }>;

/** Every error code the orchestrator can raise. */
export type ErrorCode = keyof typeof ERROR_CODES;

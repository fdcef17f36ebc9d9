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
  AGENT_TYPE_INVALID: { status: 400, retryable: false, summary: 'An agent type definition is invalid.' },
  AGENT_TIMEOUT: { status: 504, retryable: true, summary: 'An agent did not finish within its timeout.' },
  AGENT_INTERRUPTED: { status: 409, retryable: false, summary: 'An agent was interrupted on request.' },
  AGENT_RATE_LIMITED: { status: 429, retryable: true, summary: 'The model API kept answering 429 (rate limited).' },
  AGENT_OVERLOADED: { status: 503, retryable: true, summary: 'The model API kept answering 529 (overloaded).' },
  AGENT_API_ERROR: { status: 502, retryable: true, summary: 'The model API kept failing with a server error.' },
  AGENT_NETWORK: { status: 502, retryable: true, summary: 'The model API could not be reached or the stream broke.' },
  AGENT_AUTH_FAILED: { status: 401, retryable: false, summary: 'The model API rejected the credentials.' },
  AGENT_INVALID_REQUEST: { status: 400, retryable: false, summary: 'The model API rejected the request as invalid.' },
  AGENT_MAX_TURNS: { status: 422, retryable: false, summary: 'An agent used all of its turns without finishing.' },
  AGENT_OUTPUT_INVALID: {
    status: 422,
    retryable: false,
    summary: 'An agent did not produce output matching the required schema.',
  },
  AGENT_PROCESS_DIED: { status: 502, retryable: true, summary: 'The agent process exited unexpectedly.' },
  AGENT_FAILED: { status: 500, retryable: false, summary: 'An agent ended with an error.' },
  BUDGET_EXHAUSTED: { status: 402, retryable: false, summary: 'A cost budget was reached; no more spending.' },
  AGENT_SHUTDOWN: { status: 503, retryable: true, summary: 'The agent runtime is shutting down.' },
  WORKFLOW_INVALID: {
    status: 400,
    retryable: false,
    summary: 'A workflow definition failed validation; details.problems lists every problem with file, line and path.',
  },
  NODE_TIMEOUT: { status: 504, retryable: true, summary: 'A node did not finish within its timeout.' },
  NODE_KIND_UNKNOWN: { status: 400, retryable: false, summary: 'No executor is registered for a node kind.' },
  NODE_INTERRUPTED: {
    status: 409,
    retryable: true,
    summary: 'A node attempt ended without a result (crash or pause).',
  },
  TEMPLATE_FAILED: { status: 400, retryable: false, summary: 'A task template could not be rendered.' },
  CONDITION_FAILED: { status: 400, retryable: false, summary: 'A node condition could not be evaluated.' },
  APPROVAL_REJECTED: { status: 409, retryable: false, summary: 'A human rejected an approval.' },
  INPUT_REQUEST_NOT_FOUND: { status: 404, retryable: false, summary: 'No open input request has that id.' },
  MODIFICATION_REJECTED: { status: 409, retryable: false, summary: 'A run-time change of the workflow was refused.' },
  WORKFLOW_NOT_RUNNING: { status: 409, retryable: false, summary: 'The workflow has already ended.' },
  MERGE_CONFLICT: {
    status: 409,
    retryable: false,
    summary: "An isolated node's changes conflict with the session workspace.",
  },
  WORKSPACE_FAILED: { status: 500, retryable: false, summary: 'A workspace or worktree operation failed.' },
  SNAPSHOT_CORRUPT: {
    status: 500,
    retryable: false,
    summary: 'A stored version failed its checksum or could not be decoded; the log can rebuild it.',
  },
  SNAPSHOT_UNSUPPORTED: {
    status: 422,
    retryable: false,
    summary: 'A stored version has a snapshot format this build cannot read.',
  },
  VERSION_NOT_FOUND: { status: 404, retryable: false, summary: 'No version of the session has that number.' },
  PAYLOAD_NOT_FOUND: {
    status: 404,
    retryable: false,
    summary:
      "The session has no stored payload with that SHA-256 (a shortened value not stored, or another session's).",
  },
  PAYLOAD_CORRUPT: {
    status: 500,
    retryable: false,
    summary: "A stored payload blob does not match its SHA-256; the agent's transcript still has the value.",
  },
  RECORDING_NOT_FOUND: {
    status: 404,
    retryable: false,
    summary: 'The session has no recorded model exchanges to make a cassette of.',
  },
  IMPORT_INVALID: {
    status: 400,
    retryable: false,
    summary: 'A session export file is malformed or from a newer format.',
  },
  IMPORT_REFUSED: {
    status: 403,
    retryable: false,
    summary:
      "An import was refused by the operator's trust settings (a workspace outside the allowed folders, MCP commands); the message says how to allow it.",
  },
  SESSION_EXISTS: {
    status: 409,
    retryable: false,
    summary: 'A session with that id already exists; nothing was overwritten.',
  },
  INTERNAL: { status: 500, retryable: false, summary: 'An unexpected internal error.' },
  SCENARIO_INVALID: {
    status: 400,
    retryable: false,
    summary: 'A scenario of the scripted model server failed validation or could not be read.',
  },
  MODEL_SERVER_START_FAILED: {
    status: 500,
    retryable: false,
    summary: 'The scripted model server could not listen on the requested host and port.',
  },
  EVENT_DUPLICATE: { status: 409, retryable: false, summary: 'An appended event has an id that is already stored.' },
  SESSION_BUSY: {
    status: 409,
    retryable: false,
    summary: 'Another live process owns the session; details name its host, pid and since when.',
  },
  LEASE_LOST: {
    status: 409,
    retryable: false,
    summary: 'This process no longer owns the session (its lease was taken over or released); it may not write to it.',
  },
  SANDBOX_UNAVAILABLE: {
    status: 503,
    retryable: false,
    summary:
      "An agent's Bash sandbox cannot start on this machine (bubblewrap or socat missing), so the agent did not start.",
  },
  INPUT_TIMEOUT: {
    status: 504,
    retryable: false,
    summary: 'An open question was not answered within its timeout; it was closed.',
  },
  LIMIT_EXCEEDED: {
    status: 413,
    retryable: false,
    summary:
      'A value is larger than its configured limit (memory value, prompt, event payload); details name the limit.',
  },
  API_UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    summary: 'An API request carried no key, or a key that is unknown, malformed or revoked.',
  },
  API_FORBIDDEN: {
    status: 403,
    retryable: false,
    summary: 'The API key lacks the scope the route needs; details name the scope and the key.',
  },
  API_ROUTE_NOT_FOUND: { status: 404, retryable: false, summary: 'No API route has that method and path.' },
  API_RATE_LIMITED: {
    status: 429,
    retryable: true,
    summary: 'An API key sent more requests than its rate allows; details.retryAfterMs says when to try again.',
  },
  API_MEDIA_UNSUPPORTED: {
    status: 415,
    retryable: false,
    summary: 'An API request body has a content type the route does not take.',
  },
  API_KEY_NOT_FOUND: { status: 404, retryable: false, summary: 'No API key has that id.' },
  AGENT_NOT_FOUND: { status: 404, retryable: false, summary: 'No agent of the session has that id.' },
  WEBHOOK_NOT_FOUND: { status: 404, retryable: false, summary: 'No webhook has that id.' },
  WORKFLOW_NOT_FOUND: {
    status: 404,
    retryable: false,
    summary: 'No registered workflow has that name (or that version).',
  },
  SERVER_START_FAILED: {
    status: 500,
    retryable: false,
    summary: 'The API server could not start: the address is in use or not allowed, or its settings are unsafe.',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string; retired?: boolean }>;

/** Every error code the orchestrator can raise. */
export type ErrorCode = keyof typeof ERROR_CODES;

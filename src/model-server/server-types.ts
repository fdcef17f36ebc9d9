import type { Scenario } from './scenario.ts';

// The contract of the scripted model server: its options, what it records and its handle.
// The implementation is server.ts.

/** Where the server reports what it answers; both methods take a message and optional facts. */
export interface ModelServerLogger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
}

/** Options of {@link startModelServer}. */
export interface ModelServerOptions {
  /** The scenario, compiled or as a file path to load. */
  scenario: Scenario | string;
  /**
   * TCP port; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Receives one line per answered request and warnings (unmatched requests, bad bodies).
   * @default a logger that discards everything
   */
  logger?: ModelServerLogger;
  /**
   * A file to append every served request to, one JSON line each with its times, the scenario
   * step that answered, the agent and task it came from and the tokens reported (see
   * `request-log.ts` and docs/scenarios.md). Opened (created when missing) at start.
   * @default none: no file is written
   */
  requestLog?: string | undefined;
  /**
   * How many request records `requests` keeps (oldest dropped first).
   * @default 10000
   */
  requestLogLimit?: number;
  /**
   * Also keep each complete exchange (request body and headers that identify it, response
   * status, content type and body as sent) in `exchanges`, bounded by `requestLogLimit`: what a
   * recorder would have seen on the wire, for record-and-replay tests without a gateway.
   * @default false
   */
  keepExchanges?: boolean;
}

/** One complete exchange as the server saw it (kept with `keepExchanges`). */
export interface ModelExchangeRecord {
  /** Receipt time, epoch milliseconds. */
  readonly at: number;
  /** Path with the query string, as requested. */
  readonly path: string;
  /** The `x-claude-code-session-id` header, when sent. */
  readonly sessionHeader: string | undefined;
  /** The request body as received. */
  readonly requestBody: Buffer;
  readonly status: number;
  readonly contentType: string;
  /** The response body exactly as written (SSE text for a stream). */
  readonly responseBody: Buffer;
}

/** How the server answered a request. */
export type ModelAnswerKind =
  | 'turn'
  | 'replay'
  | 'final'
  | 'unmatched'
  | 'fault'
  | 'count_tokens'
  | 'not_found'
  | 'bad_request';

/** A summary of one received request, for assertions and diagnosis. */
export interface ModelRequestRecord {
  /** Receipt time, epoch milliseconds. */
  readonly at: number;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly model: string | undefined;
  readonly stream: boolean | undefined;
  /** Conversation key: the `x-claude-code-session-id` header or a hash of the first user message. */
  readonly conversation: string | undefined;
  /** Turn number: prior assistant messages in the request. */
  readonly turn: number | undefined;
  /** Name of the script that answered (`replay:<conversation>` for a replayed one); `undefined` when none matched. */
  readonly script: string | undefined;
  /** 1-based attempt of this (conversation, script, turn). */
  readonly attempt: number | undefined;
  readonly answer: ModelAnswerKind;
  /** The injected fault, such as `status 429` or `cut_after_events 3`. */
  readonly fault: string | undefined;
}

/** A running scripted model server. */
export interface ModelServer {
  /** Base URL for `ANTHROPIC_BASE_URL`, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The scenario in use. */
  readonly scenario: Scenario;
  /** Received requests, oldest first (bounded by `requestLogLimit`). */
  readonly requests: readonly ModelRequestRecord[];
  /** Complete exchanges, oldest first; empty unless `keepExchanges` (bounded by `requestLogLimit`). */
  readonly exchanges: readonly ModelExchangeRecord[];
  /**
   * Replaces the scenario and forgets attempt counts (the request log is kept).
   * @throws OrchestratorError `SCENARIO_INVALID` when a path is given and the file is invalid.
   */
  setScenario(scenario: Scenario | string): Promise<void>;
  /** Stops listening and drops open connections; safe to call more than once. */
  close(): Promise<void>;
}

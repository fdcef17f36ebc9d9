import type { OrchestratorError } from '../errors/index.ts';

/**
 * The contract between the model gateway's proxy (src/gateway/proxy*.ts) and what plugs into
 * it: budgets (reservations per request), record and replay, figures. The proxy owns sockets,
 * streams, tokens and retries; a hook owns one decision and never touches a socket.
 */

/** Who a gateway token stands for: one agent of one session, minted when the agent starts. */
export interface AgentIdentity {
  readonly sessionId: string;
  readonly agentId: string;
  readonly agentType: string;
  readonly workflowId?: string | undefined;
  readonly nodeId?: string | undefined;
  /** Its place in the gateway's rate-limit queue: higher goes first (a node's `priority`). @default 0 */
  readonly priority?: number | undefined;
  /** Hard limits of its node's model spend over the node's attempts (a node's `budget`). @default none */
  readonly nodeBudget?: { readonly usd?: number | undefined; readonly tokens?: number | undefined } | undefined;
}

/** Usage of one model response, read from the wire (message_start, message_delta, or a JSON body). */
export interface WireUsage {
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
}

/** One model request as the gateway forwards it. */
export interface GatewayRequest {
  /** Unique per request (retries of it keep it). */
  readonly requestId: string;
  readonly agent: AgentIdentity;
  /** The subagent that sent it, when the request shows which (its prompt is the last system block). */
  readonly subagent?: string | undefined;
  /** `/v1/messages` (with its query string). */
  readonly path: string;
  readonly model: string;
  readonly stream: boolean;
  /** `max_tokens` as Claude Code asked. */
  readonly maxTokens: number;
  /** The request's input tokens, estimated from its body (about 4 characters a token). */
  readonly inputTokensEstimate: number;
  /** SHA-256 of the request body as received (hex), for record and replay. */
  readonly bodyDigest: string;
  /** The parsed body. Hooks must not change it; `admit` returns what to change. */
  readonly body: Readonly<Record<string, unknown>>;
}

/** What `admit` decides. */
export type Admission =
  | {
      readonly ok: true;
      /** Forward with this `max_tokens` (lower than asked) instead. */
      readonly maxTokens?: number | undefined;
    }
  | {
      readonly ok: false;
      /**
       * Why it is refused (e.g. `BUDGET_EXHAUSTED`): the agent gets an error Claude Code does
       * not retry (`x-should-retry: false`), and the refusal is recorded.
       */
      readonly error: OrchestratorError;
    };

/** How a forwarded request ended. */
export interface RequestEnd {
  /** The upstream's HTTP status (0 when it was never reached). */
  readonly status: number;
  /** Usage as read from the response; undefined when none came (error, cut stream). */
  readonly usage: WireUsage | undefined;
  readonly ok: boolean;
  /** Time to the first byte of the response body, and to its end, from forwarding. */
  readonly firstByteMs?: number | undefined;
  readonly durationMs: number;
  readonly error?: OrchestratorError | undefined;
}

/** One exchange with the upstream, for record and replay. */
export interface Exchange {
  readonly request: GatewayRequest;
  readonly status: number;
  /** The response's content type (`text/event-stream` or `application/json`). */
  readonly contentType: string;
  /** The response body as it came (secrets are removed by the recorder). */
  readonly body: Buffer;
}

/**
 * What plugs into the gateway. Every member is optional; hooks run in order. `admit` runs
 * before a request is forwarded (after authentication); `settle` once per admitted request when
 * it ended (success or not: a reservation must always be settled); `observe` once per request
 * that got a complete response.
 */
export interface GatewayHooks {
  admit?(request: GatewayRequest): Admission | Promise<Admission>;
  settle?(request: GatewayRequest, end: RequestEnd): void;
  observe?(exchange: Exchange): void;
}

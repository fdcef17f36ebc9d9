import type { ErrorFacts } from './event.ts';

/** One entry of an agent's transcript, in log order. */
export type TranscriptEntry =
  | {
      readonly kind: 'text';
      readonly seq: number;
      readonly ts: string;
      readonly text: string;
      readonly subagentId?: string;
    }
  | {
      readonly kind: 'tool';
      readonly seq: number;
      readonly ts: string;
      readonly toolUseId: string;
      readonly tool: string;
      readonly input: unknown;
      readonly subagentId?: string;
      /** Filled in when the result arrives. */
      result?: { readonly isError: boolean; readonly content: string };
      /** Security decisions about this call (allow, deny, ask), in order. */
      decisions: ToolDecision[];
    }
  | {
      readonly kind: 'decision';
      readonly seq: number;
      readonly ts: string;
      readonly tool: string;
      readonly decision: ToolDecision;
    }
  | {
      readonly kind: 'retry';
      readonly seq: number;
      readonly ts: string;
      readonly by: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
    }
  | { readonly kind: 'output'; readonly seq: number; readonly ts: string; readonly output: unknown }
  | {
      readonly kind: 'error';
      readonly seq: number;
      readonly ts: string;
      readonly error: ErrorFacts;
      readonly willRetry: boolean;
    }
  | {
      readonly kind: 'question';
      readonly seq: number;
      readonly ts: string;
      readonly prompt: string;
      readonly requestId: string;
    };

/** A security decision on a tool call. */
export interface ToolDecision {
  readonly decision: string;
  readonly by: string;
  readonly rule: string | undefined;
  readonly reason: string;
}

/** The agent states the SDK runtime reports. */
export type AgentState =
  | 'initializing'
  | 'thinking'
  | 'using_tools'
  | 'responding'
  | 'waiting'
  | 'completed'
  | 'error'
  | 'interrupted';

/** One agent of the session: who it is, how it is doing, and what it said and did. */
export interface AgentView {
  readonly agentId: string;
  readonly agentType: string;
  readonly nodeId: string | undefined;
  readonly workflowId: string | undefined;
  /** The node attempt it works for (from its node when the spawn does not say). */
  attempt: number | undefined;
  /** The model, from its spawn or its first model request. */
  model: string | undefined;
  readonly task: string | undefined;
  readonly spawnedAt: string;
  state: AgentState;
  tools: string[];
  entries: TranscriptEntry[];
  /** Index of tool entries by tool-use id, to attach results and decisions. */
  readonly toolIndex: Map<string, number>;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  turns: number;
  toolCalls: number;
  errors: number;
  /** Model responses: time to first byte/token and duration, in ms. */
  readonly latencies: { readonly ttftMs: number | undefined; readonly durationMs: number }[];
  /** True once the gateway reported its requests (`model.request`): spend is counted from those. */
  metered: boolean;
  endedAt: string | undefined;
  rev: number;
}

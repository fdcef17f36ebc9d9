import { randomBytes } from 'node:crypto';
import { type RequestFacts, shortHash } from './request.ts';
import { type ScenarioTurn, STRUCTURED_OUTPUT_TOOL, type StopReason } from './scenario.ts';

/**
 * Pure construction of Messages API answers: the assistant message for a turn, its SSE event
 * sequence (exactly the event names and payload shapes Anthropic streams), and error bodies.
 */

/** A content block of an answer, as the Messages API returns it. */
export type AnswerBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

/** Usage block of an answer, in the API's snake_case. */
export interface ApiUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** A complete assistant message, the non-streaming response body. */
export interface AnswerMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnswerBlock[];
  stop_reason: StopReason;
  stop_sequence: null;
  usage: ApiUsage;
}

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** The placeholder a scripted text may carry to echo the latest tool result. */
export const LAST_TOOL_RESULT = '{{last_tool_result}}';
/**
 * The placeholder a scripted tool input may carry for the file where Claude Code saved the
 * latest tool result too large for the conversation ("Full output saved to: PATH").
 */
export const SAVED_OUTPUT_PATH = '{{saved_output_path}}';
const SAVED_OUTPUT = /Full output saved to: (\S+)/;

const CHUNK_CHARS = 24;

/** A rough token estimate (4 characters a token), as count_tokens and default usage report. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return Math.max(1, Math.ceil(text.length / 4));
}

/** A fresh id with the API's prefix (`msg_`, `req_`). */
export function randomId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('base64url')}`;
}

/** Inputs of {@link buildAnswer} besides the turn. */
export interface AnswerContext {
  readonly facts: RequestFacts;
  /** Names the script in deterministic tool ids (subagents share a session id). */
  readonly scriptName: string;
  /** Input token estimate of the request, used when the turn gives none. */
  readonly inputEstimate: number;
}

/**
 * The assistant message a turn answers with. Tool ids are derived from the conversation,
 * script and turn, so a retried request gets the same ids; message ids are fresh.
 */
export function buildAnswer(turn: ScenarioTurn, ctx: AnswerContext): AnswerMessage {
  const content: AnswerBlock[] = turn.content.map((item, index) => {
    if (item.type === 'text') {
      return { type: 'text', text: item.text.split(LAST_TOOL_RESULT).join(ctx.facts.lastToolResult ?? '') };
    }
    const id =
      (item.type === 'tool_use' ? item.id : undefined) ??
      `toolu_${shortHash(ctx.facts.conversation, ctx.scriptName, String(ctx.facts.turn), String(index))}`;
    if (item.type === 'tool_use') {
      return { type: 'tool_use', id, name: item.name, input: withSavedOutput(item.input, ctx.facts.lastToolResult) };
    }
    return { type: 'tool_use', id, name: STRUCTURED_OUTPUT_TOOL, input: { ...item.value } };
  });
  const callsTool = content.some((block) => block.type === 'tool_use');
  return {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model: ctx.facts.model,
    content,
    stop_reason: turn.stopReason ?? (callsTool ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: {
      input_tokens: turn.usage.inputTokens ?? ctx.inputEstimate,
      output_tokens: turn.usage.outputTokens ?? estimateTokens(content),
      cache_read_input_tokens: turn.usage.cacheReadInputTokens ?? 0,
      cache_creation_input_tokens: turn.usage.cacheCreationInputTokens ?? 0,
    },
  };
}

/** A copy of a tool input, its top-level strings with {@link SAVED_OUTPUT_PATH} filled in. */
function withSavedOutput(input: Record<string, unknown>, lastToolResult: string | undefined): Record<string, unknown> {
  const copy = { ...input };
  const saved = lastToolResult?.match(SAVED_OUTPUT)?.[1] ?? '';
  for (const [key, value] of Object.entries(copy)) {
    if (typeof value === 'string' && value.includes(SAVED_OUTPUT_PATH))
      copy[key] = value.split(SAVED_OUTPUT_PATH).join(saved);
  }
  return copy;
}

/** Splits a string into the deltas a stream carries (fixed size, so event counts are predictable). */
export function chunk(text: string, size = CHUNK_CHARS): string[] {
  if (text.length === 0) return [''];
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}

/**
 * The SSE events of a streamed answer, in Anthropic's order: `message_start`, `ping`, then per
 * block `content_block_start`, deltas (`text_delta` or `input_json_delta`) and
 * `content_block_stop`, then `message_delta` (stop reason, final usage) and `message_stop`.
 */
export function answerEvents(message: AnswerMessage): SseEvent[] {
  const { usage } = message;
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  message.content.forEach((block, index) => {
    const start =
      block.type === 'text'
        ? { type: 'text', text: '' }
        : { type: 'tool_use', id: block.id, name: block.name, input: {} };
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: start } });
    const deltas =
      block.type === 'text'
        ? chunk(block.text).map((text) => ({ type: 'text_delta', text }))
        : chunk(JSON.stringify(block.input)).map((partial_json) => ({ type: 'input_json_delta', partial_json }));
    for (const delta of deltas) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push(
    {
      event: 'message_delta',
      data: { type: 'message_delta', delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

/** One event in wire format. */
export function encodeEvent(event: SseEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** The API's error type for a status (`api_error` for unlisted 5xx, `invalid_request_error` for 4xx). */
export function errorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit (scripted fault).',
  overloaded_error: 'Overloaded (scripted fault).',
  authentication_error: 'invalid x-api-key (scripted fault)',
};

/** Anthropic's error body: `{ type: 'error', error: { type, message }, request_id }`. */
export function errorBody(status: number, message: string | undefined, requestId: string): Record<string, unknown> {
  const type = errorType(status);
  return {
    type: 'error',
    error: { type, message: message ?? DEFAULT_MESSAGES[type] ?? `Scripted ${status} error.` },
    request_id: requestId,
  };
}

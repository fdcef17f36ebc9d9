import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { WireUsage } from './contract.ts';

/**
 * What the gateway reads off the wire, as pure functions and one small incremental parser:
 * usage from a streamed (SSE) or JSON response, and the facts of a request body. Nothing here
 * touches a socket.
 */

interface MutableUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** Reads an API `usage` object into `into`; fields absent keep their value (deltas carry only some). */
function readUsage(into: MutableUsage, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  const u = usage as Record<string, unknown>;
  if (typeof u.input_tokens === 'number') into.inputTokens = u.input_tokens;
  if (typeof u.output_tokens === 'number') into.outputTokens = u.output_tokens;
  if (typeof u.cache_read_input_tokens === 'number') into.cacheReadTokens = u.cache_read_input_tokens;
  if (typeof u.cache_creation_input_tokens === 'number') into.cacheCreationTokens = u.cache_creation_input_tokens;
}

/** The usage of a non-streaming (JSON) response body, or undefined when it has none. */
export function usageOfJson(body: string, fallbackModel: string): WireUsage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('usage' in parsed)) return undefined;
  const out: MutableUsage = {
    model: fallbackModel,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
  };
  const message = parsed as Record<string, unknown>;
  if (typeof message.model === 'string') out.model = message.model;
  readUsage(out, message.usage);
  return out;
}

/**
 * Reads usage from a server-sent event stream as its chunks go by: `message_start` (input and
 * cache tokens, model) and `message_delta` (cumulative output tokens). Only the data lines of
 * those events (and of `error`) are parsed as JSON; the many content deltas are only checked
 * to look like JSON objects, so the cost per chunk stays a scan of its bytes.
 */
export class SseUsageReader {
  readonly #decoder = new StringDecoder('utf8');
  readonly #usage: MutableUsage;
  #tail = '';
  #event = '';
  #started = false;
  /** A `message_stop` was seen: the stream is complete. */
  complete = false;
  /** A data line was not JSON, or an event came without data: the body is malformed. */
  malformed: string | undefined;
  /** The message of an `event: error` in the stream. */
  streamError: string | undefined;

  constructor(model: string) {
    this.#usage = { model, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 };
  }

  /** Usage read so far; undefined until `message_start` came. */
  get usage(): WireUsage | undefined {
    return this.#started ? { ...this.#usage } : undefined;
  }

  feed(chunk: Buffer): void {
    const text = this.#tail + this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      this.#line(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
      start = end + 1;
    }
    this.#tail = start === 0 ? text : text.slice(start);
  }

  #line(line: string): void {
    if (line.startsWith('event:')) {
      this.#event = line.slice(6).trim();
      return;
    }
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    const event = this.#event;
    if (event !== 'message_start' && event !== 'message_delta' && event !== 'error' && event !== 'message_stop') {
      if (data[0] !== '{' && this.malformed === undefined)
        this.malformed = `event ${event || '(none)'}: data is not JSON`;
      return;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(data) as Record<string, unknown>;
    } catch {
      this.malformed ??= `event ${event}: data is not JSON`;
      return;
    }
    if (event === 'message_start') {
      const message = parsed.message as Record<string, unknown> | undefined;
      if (typeof message?.model === 'string') this.#usage.model = message.model;
      readUsage(this.#usage, message?.usage);
      this.#started = true;
    } else if (event === 'message_delta') {
      readUsage(this.#usage, parsed.usage);
    } else if (event === 'message_stop') {
      this.complete = true;
    } else {
      const error = parsed.error as Record<string, unknown> | undefined;
      this.streamError = typeof error?.message === 'string' ? error.message : 'error event in the stream';
    }
  }
}

/** What the gateway needs of a Messages API request body. */
export interface RequestFacts {
  readonly model: string;
  readonly stream: boolean;
  readonly maxTokens: number;
  readonly inputTokensEstimate: number;
  readonly bodyDigest: string;
  /** The text of the last `system` block (where Claude Code puts the agent's or subagent's prompt). */
  readonly lastSystem: string | undefined;
  readonly body: Record<string, unknown>;
}

/** The facts of a request body; undefined when it is not a JSON object. */
export function requestFacts(raw: Buffer): RequestFacts | undefined {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  return {
    model: typeof b.model === 'string' ? b.model : 'unknown',
    stream: b.stream === true,
    maxTokens: typeof b.max_tokens === 'number' ? b.max_tokens : 0,
    // About 4 characters a token, as the contract says; the body's JSON is close enough.
    inputTokensEstimate: Math.ceil(raw.length / 4),
    bodyDigest: createHash('sha256').update(raw).digest('hex'),
    lastSystem: lastSystemText(b.system),
    body: b,
  };
}

function lastSystemText(system: unknown): string | undefined {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system) || system.length === 0) return undefined;
  const last = system[system.length - 1] as Record<string, unknown> | undefined;
  return typeof last?.text === 'string' ? last.text : undefined;
}

/**
 * Tells an agent's own requests from its subagents'. Claude Code sends every request of one
 * agent process with the same session header; a subagent's request differs in its last system
 * block (the subagent's prompt instead of the agent's). The first prompt a token is seen with
 * is the agent's own: its first request is always its own turn, a subagent can only start
 * from a tool call of a later turn. A subagent is named by a short digest of its prompt
 * (`sub-<12 hex>`), stable across its requests and runs.
 */
export class SubagentTracker {
  readonly #own = new Map<string, string>();

  /** The subagent a request of this token comes from, or undefined for the agent's own. */
  subagentOf(token: string, lastSystem: string | undefined): string | undefined {
    if (lastSystem === undefined) return undefined;
    const digest = createHash('sha256').update(lastSystem).digest('hex').slice(0, 12);
    const own = this.#own.get(token);
    if (own === undefined) {
      this.#own.set(token, digest);
      return undefined;
    }
    return own === digest ? undefined : `sub-${digest}`;
  }

  forget(token: string): void {
    this.#own.delete(token);
  }
}

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
 * those events (and of `error`) are cut out and parsed as JSON; the many content deltas are
 * only checked to start like JSON objects, read in place (no string is cut for them), so the
 * cost per chunk stays a scan of its text. Measured against working on the bytes
 * (`Buffer.indexOf`, byte compares): decoding each chunk once and scanning the string is
 * faster in V8.
 */
export class SseUsageReader {
  readonly #decoder = new StringDecoder('utf8');
  readonly #usage: MutableUsage;
  #tail = '';
  #event: SseEvent = 'other';
  /** Where the latest event's name is (cut out only for a message). */
  #eventLine = '';
  #eventAt = 0;
  #eventEnd = 0;
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
    const decoded = this.#decoder.write(chunk);
    const text = this.#tail === '' ? decoded : this.#tail + decoded;
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      this.#line(text, start, text.charCodeAt(end - 1) === CR ? end - 1 : end);
      start = end + 1;
    }
    this.#tail = start === 0 ? text : text.slice(start);
  }

  #eventName(): string {
    return this.#eventLine.slice(this.#eventAt, this.#eventEnd).trim();
  }

  /** One line, `text[start, end)`, without its line break. */
  #line(text: string, start: number, end: number): void {
    const first = text.charCodeAt(start);
    if (first === LETTER_E && text.startsWith('event:', start)) {
      this.#eventLine = text;
      this.#eventAt = start + 6;
      this.#eventEnd = end;
      this.#event = eventOf(text, start + 6, end);
      return;
    }
    if (first !== LETTER_D || !text.startsWith('data:', start)) return;
    let from = start + 5;
    while (from < end && (text.charCodeAt(from) === SPACE || text.charCodeAt(from) === TAB)) from++;
    const event = this.#event;
    // Only usage and errors are parsed; `message_stop` (the stream is complete) and content
    // events are only checked to start like JSON.
    if (event === 'other' || event === 'message_stop') {
      if (text.charCodeAt(from) !== OPEN_BRACE) {
        this.malformed ??= `event ${this.#eventName() || '(none)'}: data is not JSON`;
      } else if (event === 'message_stop') this.complete = true;
      return;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text.slice(from, end)) as Record<string, unknown>;
    } catch {
      this.malformed ??= `event ${this.#eventName()}: data is not JSON`;
      return;
    }
    if (event === 'message_start') {
      const message = parsed.message as Record<string, unknown> | undefined;
      if (typeof message?.model === 'string') this.#usage.model = message.model;
      readUsage(this.#usage, message?.usage);
      this.#started = true;
    } else if (event === 'message_delta') {
      readUsage(this.#usage, parsed.usage);
    } else {
      const error = parsed.error as Record<string, unknown> | undefined;
      this.streamError = typeof error?.message === 'string' ? error.message : 'error event in the stream';
    }
  }
}

/** The events whose data the reader parses; every other event's data is only checked to look like JSON. */
type SseEvent = 'message_start' | 'message_delta' | 'message_stop' | 'error' | 'other';
const PARSED: readonly SseEvent[] = ['message_start', 'message_delta', 'message_stop', 'error'];

/** The event named in `text[from, end)` (spaces around it allowed), read in place. */
function eventOf(text: string, from: number, end: number): SseEvent {
  while (from < end && text.charCodeAt(from) === SPACE) from++;
  while (end > from && text.charCodeAt(end - 1) === SPACE) end--;
  const first = text.charCodeAt(from);
  if (first !== LETTER_M && first !== LETTER_E) return 'other';
  for (const name of PARSED) {
    if (name.length === end - from && text.startsWith(name, from)) return name;
  }
  return 'other';
}
const CR = 0x0d;
const LETTER_E = 0x65;
const LETTER_D = 0x64;
const LETTER_M = 0x6d;
const SPACE = 0x20;
const TAB = 0x09;
const OPEN_BRACE = 0x7b;

/**
 * A Messages API request body as the gateway received it, read only as far as asked: the raw
 * bytes are forwarded as they are, and the JSON is parsed on the first read of a field that
 * needs it, once. A request that no hook needs to look into before it is forwarded (no budget
 * covers its agent) is parsed after it went upstream, while the model works: a 60 KB body (a
 * Claude Code first turn with its tools) costs about 0.25 ms to parse, a quarter of the
 * gateway's latency target. A class, not an object literal: a literal with getters takes V8's
 * slow path.
 */
export class RequestBody {
  readonly raw: Buffer;
  /** The request's input tokens, estimated from its size (about 4 characters a token), without parsing. */
  readonly inputTokensEstimate: number;
  #body: Record<string, unknown> | undefined;
  #valid = false;
  #digest: string | undefined;

  constructor(raw: Buffer) {
    this.raw = raw;
    this.inputTokensEstimate = Math.ceil(raw.length / 4);
  }

  /** The body was parsed already. */
  get parsed(): boolean {
    return this.#body !== undefined;
  }

  /** The body is a JSON object (parses it). */
  get valid(): boolean {
    this.#parse();
    return this.#valid;
  }

  /** The parsed body (parses it); empty when the body is not a JSON object. */
  get body(): Record<string, unknown> {
    return this.#parse();
  }

  get model(): string {
    const model = this.#parse().model;
    return typeof model === 'string' ? model : 'unknown';
  }

  get stream(): boolean {
    return this.#parse().stream === true;
  }

  /** `max_tokens` as asked (parses the body); 0 when absent. */
  get maxTokens(): number {
    const max = this.#parse().max_tokens;
    return typeof max === 'number' ? max : 0;
  }

  /**
   * `max_tokens` without parsing when the body was not parsed yet: the number after the last
   * `"max_tokens":` of the raw JSON (Claude Code writes the top-level key after the messages).
   * A hint, for the rate limits' estimate only; the parsed value once there is one.
   */
  get maxTokensHint(): number {
    if (this.#body !== undefined) return this.maxTokens;
    const at = this.raw.lastIndexOf(MAX_TOKENS_KEY);
    if (at < 0) return 0;
    let i = at + MAX_TOKENS_KEY.length;
    const raw = this.raw;
    while (i < raw.length && (raw[i] === SPACE || raw[i] === COLON)) i++;
    let value = 0;
    for (; i < raw.length && (raw[i] as number) >= DIGIT_0 && (raw[i] as number) <= DIGIT_9; i++) {
      value = value * 10 + (raw[i] as number) - DIGIT_0;
    }
    return value;
  }

  /** The text of the last `system` block (where Claude Code puts the agent's or subagent's prompt). */
  get lastSystem(): string | undefined {
    return lastSystemText(this.#parse().system);
  }

  /** SHA-256 of the body as received (hex), computed on first read: only record and replay need it. */
  get bodyDigest(): string {
    this.#digest ??= createHash('sha256').update(this.raw).digest('hex');
    return this.#digest;
  }

  #parse(): Record<string, unknown> {
    if (this.#body !== undefined) return this.#body;
    let body: unknown;
    try {
      body = JSON.parse(this.raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    this.#valid = typeof body === 'object' && body !== null && !Array.isArray(body);
    this.#body = this.#valid ? (body as Record<string, unknown>) : {};
    return this.#body;
  }
}

const MAX_TOKENS_KEY = Buffer.from('"max_tokens"');
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function lastSystemText(system: unknown): string | undefined {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system) || system.length === 0) return undefined;
  const last = system[system.length - 1] as Record<string, unknown> | undefined;
  return typeof last?.text === 'string' ? last.text : undefined;
}

/**
 * Tells an agent's own requests from its subagents'. Claude Code sends every request of one
 * agent process with the same session header; a subagent's request differs in its last system
 * block (the subagent's prompt instead of the agent's). The first prompt an agent is seen with
 * is its own: its first request is always its own turn, a subagent can only start from a tool
 * call of a later turn. A subagent is named by a short digest of its prompt (`sub-<12 hex>`),
 * stable across its requests and runs. Per request the prompt is compared with the ones this
 * agent has shown (a string comparison); only a prompt seen for the first time is hashed.
 * Kept per agent identity, weakly: what an ended agent showed goes with it, also when a late
 * request is attributed after its token was released.
 */
export class SubagentTracker {
  readonly #agents = new WeakMap<object, { readonly own: string; readonly subagents: Map<string, string> }>();

  /** The subagent a request of this agent comes from, or undefined for the agent's own. */
  subagentOf(agent: object, lastSystem: string | undefined): string | undefined {
    if (lastSystem === undefined) return undefined;
    const seen = this.#agents.get(agent);
    if (seen === undefined) {
      this.#agents.set(agent, { own: lastSystem, subagents: new Map() });
      return undefined;
    }
    if (seen.own === lastSystem) return undefined;
    let name = seen.subagents.get(lastSystem);
    if (name === undefined) {
      name = `sub-${createHash('sha256').update(lastSystem).digest('hex').slice(0, 12)}`;
      // Bounded: prompts that change on every request would otherwise grow it without end.
      if (seen.subagents.size >= MAX_SUBAGENTS) seen.subagents.clear();
      seen.subagents.set(lastSystem, name);
    }
    return name;
  }
}

/** Subagent prompts remembered per agent. */
const MAX_SUBAGENTS = 64;

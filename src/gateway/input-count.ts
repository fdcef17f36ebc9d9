/**
 * A conservative count of a Messages API request's input tokens, from its parsed body, without
 * a tokenizer: what the budget gate reserves for the input before the response says the real
 * figure. It over-counts on purpose (the gate may then lower `max_tokens` a little early, never
 * late), and the gate corrects it per agent with the ratio of the real input of the agent's
 * previous response to its count (a conversation's density changes slowly).
 */

/** What the budget gate needs to know of a request body. */
export interface InputCount {
  /** Input tokens, counted conservatively. */
  readonly tokens: number;
  /** The request asks for a cache write with a 1-hour lifetime (billed at twice the input price). */
  readonly oneHourCache: boolean;
  /** `thinking.budget_tokens` of extended thinking: `max_tokens` must stay above it. */
  readonly thinkingBudget: number | undefined;
}

/**
 * Tokens counted for an image, whatever its size: the API scales images down to about 1.15
 * megapixels, about 1,600 tokens.
 */
export const IMAGE_TOKENS = 1600;
/** ASCII characters per token counted (real text runs at 3.5 to 4.5; code and JSON near 3). */
export const ASCII_CHARS_PER_TOKEN = 3;
/** Tokens counted per message and per content block, for the framing the API adds. */
const FRAMING_TOKENS = 4;
/** Tokens counted once when tools are offered: the API's own tool-use system prompt (about 350). */
const TOOLS_PROMPT_TOKENS = 500;

/** Counts the input of a Messages API body (`system`, `messages`, `tools`). */
export function countInput(body: Readonly<Record<string, unknown>>): InputCount {
  const counter = { units: 0, tokens: 0, oneHour: false };
  walk(body.system, counter);
  walk(body.messages, counter);
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    counter.tokens += TOOLS_PROMPT_TOKENS;
    walk(body.tools, counter);
  }
  walk(body.tool_choice, counter);
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  const budget = thinking?.type === 'enabled' ? thinking.budget_tokens : undefined;
  return {
    tokens: counter.tokens + Math.ceil(counter.units / ASCII_CHARS_PER_TOKEN),
    oneHourCache: counter.oneHour,
    thinkingBudget: typeof budget === 'number' && Number.isFinite(budget) ? budget : undefined,
  };
}

interface Counter {
  /** ASCII characters seen (a third of a token each). */
  units: number;
  /** Whole tokens counted (non-ASCII characters, images, framing). */
  tokens: number;
  oneHour: boolean;
}

function walk(value: unknown, counter: Counter): void {
  if (typeof value === 'string') {
    text(value, counter);
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    counter.units += String(value).length;
  } else if (Array.isArray(value)) {
    for (const item of value) walk(item, counter);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    counter.tokens += FRAMING_TOKENS;
    if (record.type === 'image') {
      counter.tokens += IMAGE_TOKENS;
      return;
    }
    const cache = record.cache_control as { ttl?: unknown } | undefined;
    if (cache?.ttl === '1h') counter.oneHour = true;
    // `for in` rather than `Object.entries`: no array per key, and a parsed body's objects are plain.
    for (const key in record) {
      if (key === 'cache_control') continue;
      const item = record[key];
      // A base64 document (a PDF): a token per three base64 characters is far above what its pages cost.
      if (key === 'data' && record.type === 'base64' && typeof item === 'string') counter.units += item.length;
      else {
        counter.units += key.length;
        walk(item, counter);
      }
    }
  }
}

/** Any non-ASCII UTF-16 unit; and runs of ASCII ones. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at NUL on purpose.
const NON_ASCII = /[^\x00-\x7f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at NUL on purpose.
const ASCII_RUNS = /[\x00-\x7f]+/g;

function text(value: string, counter: Counter): void {
  // Regular expressions run natively: most strings are all ASCII (one test), and the others are
  // counted by what is left once the ASCII runs are taken out (a JS loop per character cost
  // more than half of a request's count).
  const other = NON_ASCII.test(value) ? value.replace(ASCII_RUNS, '').length : 0;
  counter.units += value.length - other;
  // A non-ASCII UTF-16 unit (accents, CJK, half of an emoji) is counted as a token of its own.
  counter.tokens += other;
}

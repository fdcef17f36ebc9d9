/** A secret value the orchestrator knows, and the name shown in its place. */
export interface KnownSecret {
  /** Shown in the marker (`[REDACTED:NAME]`): the variable or file it came from; never secret itself. */
  readonly name: string;
  /** The value to keep out of everything written. */
  readonly value: string;
}

/** Options of a {@link Redactor}. */
export interface RedactorOptions {
  /**
   * Also match the forms a value takes when a tool prints it encoded: JSON-escaped, URL-encoded,
   * and base64 (standard and URL-safe, at any of the three byte alignments, so the value is
   * caught inside a longer encoded text too). @default true
   */
  readonly encodedForms?: boolean;
}

/** Encoded forms shorter than this are not matched: a short base64 fragment would hit by chance. */
const MIN_ENCODED_LENGTH = 8;
/** Beyond this depth a value is redacted through its JSON text (no recursion, no stack overflow). */
const MAX_DEPTH = 64;
/** Line breaks a tool may put inside an encoded value (`base64` wraps at 76 columns), as is or JSON-escaped. */
const LINE_BREAKS = /\r?\n|(?:\\r)?\\n/g;

/**
 * Replaces known secret values by `[REDACTED:NAME]` in strings and in JSON-like values at any
 * depth (object keys included). Matching is by value, not by field name: a key printed by
 * `env` inside a tool result is caught like one in a config field.
 *
 * A value split by line breaks (as `base64` wraps its output at 76 columns; as is or
 * JSON-escaped) is caught too: the text is searched again with its breaks taken out.
 *
 * All values (and their encoded forms) are compiled once into one regular expression of
 * escaped literals, longest first, so the longest secret wins where two overlap and a secret
 * that is a substring of another cannot leave part of the longer one behind. With no secret
 * known, every method returns its input untouched at the cost of one branch.
 *
 * Values are copied only where something changed: an event without secrets is returned as the
 * same object.
 *
 * @example
 * const redactor = new Redactor([{ name: 'ANTHROPIC_API_KEY', value: key }]);
 * redactor.redactText(`key=${key}`); // 'key=[REDACTED:ANTHROPIC_API_KEY]'
 */
export class Redactor {
  /** A redactor that knows no secret (changes nothing). */
  static readonly none: Redactor = new Redactor([]);

  /** Names of the secrets it knows, sorted, without duplicates. */
  readonly names: readonly string[];
  /** False when it knows no secret (every call is then the identity). */
  readonly active: boolean;
  readonly #pattern: RegExp | undefined;
  /** Matched text (a value or one of its encoded forms) to the name of its secret. */
  readonly #nameOf = new Map<string, string>();
  readonly #shortest: number;
  readonly #replace = (match: string): string => `[REDACTED:${this.#nameOf.get(match) ?? 'secret'}]`;

  constructor(secrets: readonly KnownSecret[], options: RedactorOptions = {}) {
    const encoded = options.encodedForms ?? true;
    for (const { name, value } of secrets) {
      if (value === '') continue;
      for (const form of encoded ? [value, ...encodedForms(value)] : [value]) {
        if (!this.#nameOf.has(form)) this.#nameOf.set(form, name);
      }
    }
    const forms = [...this.#nameOf.keys()].sort((a, b) => b.length - a.length);
    this.#pattern = forms.length > 0 ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : undefined;
    this.#shortest = forms.at(-1)?.length ?? Number.POSITIVE_INFINITY;
    this.names = [...new Set(secrets.filter((s) => s.value !== '').map((s) => s.name))].sort();
    this.active = this.#pattern !== undefined;
  }

  /** The text with every known secret value replaced by its marker, also where line breaks split it. */
  redactText(text: string): string {
    if (this.#pattern === undefined || text.length < this.#shortest) return text;
    return this.#acrossLines(text.replace(this.#pattern, this.#replace), this.#pattern);
  }

  /** True when the text holds a known secret value (or an encoded form of one), even split by line breaks. */
  contains(text: string): boolean {
    if (this.#pattern === undefined || text.length < this.#shortest) return false;
    this.#pattern.lastIndex = 0;
    const found = this.#pattern.test(text) || this.#pattern.test(withoutLineBreaks(text)?.joined ?? '');
    this.#pattern.lastIndex = 0;
    return found;
  }

  /**
   * Replaces the values that line breaks split (`base64` wraps its output at 76 columns): they
   * are found in the text with its breaks taken out, and the part of the text they came from is
   * replaced by the marker. Linear in the text; texts without a break are returned at once.
   */
  #acrossLines(text: string, pattern: RegExp): string {
    const view = withoutLineBreaks(text);
    if (view === undefined) return text;
    let out = '';
    let cursor = 0;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(view.joined); match !== null; match = pattern.exec(view.joined)) {
      const start = view.origin(match.index);
      const end = view.origin(match.index + match[0].length - 1) + 1;
      if (start < cursor) continue;
      out += text.slice(cursor, start) + this.#replace(match[0]);
      cursor = end;
    }
    pattern.lastIndex = 0;
    return cursor === 0 ? text : out + text.slice(cursor);
  }

  /**
   * A JSON-like value with every string (and object key) redacted, at any depth; the same value
   * when nothing changed. Objects with `toJSON` are redacted as their JSON form; other class
   * instances (Date, Buffer) are left as they are.
   */
  redact<T>(value: T): T {
    if (this.#pattern === undefined) return value;
    return this.#walk(value, 0) as T;
  }

  #walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) {
      const text = JSON.stringify(value);
      const redacted = this.redactText(text);
      return redacted === text ? value : JSON.parse(redacted);
    }
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const redacted = this.#walk(item, depth + 1);
        if (redacted !== item) {
          copy ??= value.slice();
          copy[i] = redacted;
        }
      }
      return copy ?? value;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const json: unknown = toJSON.call(value);
      const redacted = this.#walk(json, depth + 1);
      return redacted === json ? value : redacted;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    let copy: Record<string, unknown> | undefined;
    const source = value as Record<string, unknown>;
    for (const key of Object.keys(source)) {
      const item = source[key];
      const redacted = this.#walk(item, depth + 1);
      const redactedKey = this.redactText(key);
      if (redacted === item && redactedKey === key) continue;
      copy ??= { ...source };
      if (redactedKey !== key) delete copy[key];
      copy[redactedKey] = redacted;
    }
    return copy ?? value;
  }
}

/**
 * The forms a value takes when printed encoded: JSON-escaped and URL-encoded (when they
 * differ), and the part of its base64 encoding that is the same wherever the value starts in
 * the encoded bytes (three alignments; standard and URL-safe alphabets).
 */
export function encodedForms(value: string): string[] {
  const forms = new Set<string>();
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) forms.add(json);
  const url = encodeURIComponent(value);
  if (url !== value) forms.add(url);
  for (const form of base64Forms(value)) forms.add(form);
  forms.delete(value);
  return [...forms];
}

/** The base64 forms of {@link encodedForms}: standard and URL-safe, at the three alignments. */
function base64Forms(value: string): string[] {
  const forms = new Set<string>();
  const bytes = Buffer.from(value, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const text = padded.toString('base64');
    // Characters whose 6 bits come from the value alone: after the padding's bits, and before
    // the bits of whatever follows the value in the encoded text.
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const fragment = text.slice(first, end);
    if (fragment.length < MIN_ENCODED_LENGTH) continue;
    forms.add(fragment);
    forms.add(fragment.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return [...forms];
}

/**
 * The text with its line breaks taken out, and `origin(i)`: the index in the text of the i-th
 * character kept (a binary search over the breaks); none when the text has no break.
 */
function withoutLineBreaks(text: string): { joined: string; origin(index: number): number } | undefined {
  if (text.search(LINE_BREAKS) === -1) return undefined;
  const parts: string[] = [];
  /** For each break: where the kept text after it starts (joined index), and what was removed up to it. */
  const at: number[] = [];
  const removed: number[] = [];
  let last = 0;
  let gone = 0;
  for (const lineBreak of text.matchAll(LINE_BREAKS)) {
    parts.push(text.slice(last, lineBreak.index));
    gone += lineBreak[0].length;
    last = lineBreak.index + lineBreak[0].length;
    at.push(last - gone);
    removed.push(gone);
  }
  parts.push(text.slice(last));
  const origin = (index: number): number => {
    let low = 0;
    let high = at.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((at[mid] as number) <= index) low = mid + 1;
      else high = mid;
    }
    return index + (low === 0 ? 0 : (removed[low - 1] as number));
  };
  return { joined: parts.join(''), origin };
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

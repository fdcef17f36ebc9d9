/**
 * JSON texts of values that never change again, made once. A compiled workflow's definition is
 * deep-frozen, and a run serialized it twice: in its `workflow.started` event and in the
 * definition chunk of its first version, 5-6 ms each for 10,000 nodes (`JSON.stringify` is about
 * half as fast on frozen objects). The compiler serializes it once, before freezing it (about
 * 3 ms), and registers the text here; a registered workflow run again pays nothing more.
 */
const texts = new WeakMap<object, string>();

/**
 * Registers `text`, which must be `JSON.stringify(value)`, as the JSON of `value`. Only for a
 * value its caller deep-freezes right after: a change would leave the text stale.
 */
export function rememberJson(value: object, text: string): void {
  texts.set(value, text);
}

/** The registered JSON text of `value`, if any (see {@link rememberJson}). */
export function knownJson(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? texts.get(value) : undefined;
}

/** `JSON.stringify(value)`, taken from the registered text when there is one. */
export function jsonOf(value: unknown): string | undefined {
  return knownJson(value) ?? JSON.stringify(value);
}

/**
 * `JSON.stringify(record)` of a plain record of JSON values, with the registered texts of its
 * fields spliced in rather than serialized again. Fields whose value has no JSON (undefined, a
 * function) are left out, as `JSON.stringify` leaves them out.
 */
export function stringifyRecord(record: Readonly<Record<string, unknown>>): string {
  let out = '{';
  for (const key of Object.keys(record)) {
    const text = jsonOf(record[key]);
    if (text === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}

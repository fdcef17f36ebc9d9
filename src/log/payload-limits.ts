import { createHash } from 'node:crypto';
import { OrchestratorError } from '../errors/index.ts';
import { type EventType, type PendingEvent, stringifyRecord } from '../events/index.ts';

/**
 * Size limits of event payloads, applied on the log's one write path. What agents produce
 * without bound (a tool's input, such as a whole file given to Write; a tool's result; a
 * message) is shortened when it is larger than `maxFieldBytes`: the event keeps a preview, and
 * a `truncated` entry with the field, its size and the SHA-256 of its full JSON text. The full
 * value is not lost: the log stores it (redacted, as the event would have held it) as a
 * content-addressed payload blob of the session before the event is written (`stored: true`;
 * read back by session id and digest), when the log has a payload store and the value is at
 * most `maxEventBytes`; a larger one is not stored (`stored: false`) and stays only in the
 * agent's transcript (the transcript store, carried by `sessions export`). Any event still
 * larger than `maxEventBytes` is refused (`LIMIT_EXCEEDED`) before anything is written.
 */
export interface PayloadLimits {
  /** Largest agent-produced field (tool input, tool result, message) kept whole, in bytes of JSON. */
  readonly maxFieldBytes: number;
  /** Largest event payload accepted at all, in bytes of JSON. */
  readonly maxEventBytes: number;
}

/** The defaults (the configuration's `maxEventFieldBytes` and `maxEventBytes`). */
export const PAYLOAD_LIMIT_DEFAULTS: PayloadLimits = Object.freeze({
  maxFieldBytes: 64 * 1024,
  maxEventBytes: 16 * 1024 * 1024,
});

/** The fields of each event type that may be shortened: nothing the session's state is built from. */
export const SHORTENABLE_FIELDS: Readonly<Partial<Record<EventType, readonly string[]>>> = Object.freeze({
  'agent.tool_use': ['input'],
  'agent.tool_result': ['content'],
  'agent.message': ['text'],
  'agent.progress': ['text'],
});

/** Characters of a shortened field's preview, at most. */
const PREVIEW_CHARS = 2000;

/** One shortened field, as its event records it. */
export interface TruncatedField {
  readonly field: string;
  /** Bytes of the full value's JSON text. */
  readonly bytes: number;
  /** SHA-256 (hex) of the full value's JSON text (of the text itself for a string). */
  readonly sha256: string;
  /**
   * The full text is stored as a payload blob of the session under `sha256` (false: too large
   * to store, over `maxEventBytes`, or the log has no payload store; the transcript has it).
   */
  readonly stored: boolean;
  /** The value was not a string: its full text is JSON to parse (absent: the text is the value). */
  readonly json?: true;
}

/**
 * Applies the limits to one prepared event: returns it as is, or a copy with shortened fields.
 * `texts`, when given, receives at `index` the JSON text of the returned event's payload, which
 * was measured here (the log hands it to the store rather than serializing the payload again).
 * `blobs`, when given, receives the full text of each shortened field it may store (at most
 * `maxEventBytes`), keyed by its SHA-256: the caller stores them before the event.
 * @throws OrchestratorError `LIMIT_EXCEEDED` when the payload is over `maxEventBytes` even so
 */
export function limitPayload(
  event: PendingEvent,
  limits: PayloadLimits,
  texts?: (string | undefined)[],
  index = 0,
  blobs?: Map<string, string>,
): PendingEvent {
  let data = event.data as Record<string, unknown>;
  const truncated: TruncatedField[] = [];
  for (const field of SHORTENABLE_FIELDS[event.type] ?? []) {
    const value = data[field];
    if (value === undefined) continue;
    // A string's length bounds its UTF-8 size from below by a factor of 3: most fields need no encoding.
    if (typeof value === 'string' && value.length * 3 <= limits.maxFieldBytes) continue;
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= limits.maxFieldBytes) continue;
    const sha256 = createHash('sha256').update(text).digest('hex');
    const stored = blobs !== undefined && bytes <= limits.maxEventBytes;
    if (stored) blobs.set(sha256, text);
    const keep = Math.max(0, Math.min(PREVIEW_CHARS, Math.floor(limits.maxFieldBytes / 4)));
    const where = stored ? "stored with the session's payloads" : "in the agent's transcript";
    const preview = `${text.slice(0, keep)}… [${bytes} bytes in all; sha256 ${sha256}; the whole value is ${where}]`;
    data = { ...data, [field]: preview };
    truncated.push(
      typeof value === 'string' ? { field, bytes, sha256, stored } : { field, bytes, sha256, stored, json: true },
    );
  }
  if (truncated.length > 0) data = { ...data, truncated };
  // A run's definition, already serialized by its compiler, is spliced in (see frozen-json.ts).
  const text = (event.type === 'workflow.started' ? stringifyRecord(data) : JSON.stringify(data)) as string | undefined;
  // At most 3 bytes of UTF-8 per UTF-16 unit: a text that short needs no encoding to be under the limit.
  const size =
    text === undefined ? 0 : text.length * 3 <= limits.maxEventBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (size > limits.maxEventBytes) {
    throw new OrchestratorError(
      'LIMIT_EXCEEDED',
      `a "${event.type}" event of ${size} bytes is over the limit of ${limits.maxEventBytes} (maxEventBytes, ORCHESTRATOR_MAX_EVENT_BYTES); nothing was written`,
      { details: { limit: 'maxEventBytes', value: limits.maxEventBytes, actual: size, type: event.type } },
    );
  }
  if (texts) texts[index] = text;
  return truncated.length > 0 ? { ...event, data } : event;
}

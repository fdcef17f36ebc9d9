import type { AnyEvent } from '../events/index.ts';

/** A `truncated` entry of an event, as the log writes it (src/log `TruncatedField`). */
interface Entry {
  readonly field: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly stored?: boolean;
  readonly json?: true;
}

/** Reads a stored payload's full text by the session and digest (the sessions manager's `payload`). */
export type PayloadReader = (sessionId: string, sha256: string) => Promise<{ text: string }>;

/**
 * The event with each shortened field whose full value is stored put back whole (`events
 * --full`); its `truncated` entries stay, marked `restored: true`, so a reader still knows the
 * log holds a preview. Fields not stored (over `maxEventBytes`, or from before payload blobs)
 * or not found are left as their preview; a blob that fails its digest throws `PAYLOAD_CORRUPT`. Events without shortened fields are returned as they are.
 */
export async function withFullFields(event: AnyEvent, read: PayloadReader): Promise<AnyEvent> {
  const entries = (event.data as { truncated?: Entry[] }).truncated;
  if (!entries?.some((entry) => entry.stored)) return event;
  const data: Record<string, unknown> = { ...(event.data as Record<string, unknown>) };
  const marked: Array<Entry & { restored?: true }> = [];
  for (const entry of entries) {
    if (!entry.stored) {
      marked.push(entry);
      continue;
    }
    const text = await read(event.sessionId, entry.sha256).then(
      (payload) => payload.text,
      (error: { code?: string }) => {
        // Gone with a deleted session's references (a copy of its events elsewhere): the
        // preview stays. A blob that no longer matches its digest is an error, said loudly.
        if (error.code === 'PAYLOAD_NOT_FOUND') return undefined;
        throw error;
      },
    );
    if (text === undefined) {
      marked.push(entry);
      continue;
    }
    data[entry.field] = entry.json ? JSON.parse(text) : text;
    marked.push({ ...entry, restored: true });
  }
  data.truncated = marked;
  return { ...event, data } as AnyEvent;
}

/** The fields {@link withFullFields} restored, each under a header line, for `events --full` without `--json`. */
export function formatFullFields(event: AnyEvent): string {
  const entries = (event.data as { truncated?: Array<Entry & { restored?: true }> }).truncated ?? [];
  let out = '';
  for (const entry of entries.filter((e) => e.restored)) {
    const value = (event.data as Record<string, unknown>)[entry.field];
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    out += `      ${entry.field} in full (${entry.bytes} bytes, sha256 ${entry.sha256.slice(0, 12)}):\n${text}\n`;
  }
  return out;
}

/**
 * An event of a session's log as the API's streams and routes send it (the contract's event
 * shape). Its `data` is read defensively, with the helpers below: the page shows what it
 * recognises and skips what it does not, so a newer server's events never break it.
 */
export interface LogEvent {
  readonly id: string;
  readonly sessionId: string;
  readonly seq: number;
  readonly type: string;
  readonly ts: string;
  readonly source: string;
  readonly data: unknown;
}

/** The payload of an event as a record (empty for anything that is not an object). */
export function dataOf(event: LogEvent): Readonly<Record<string, unknown>> {
  const data = event.data;
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

/** A string field, or undefined. */
export function str(data: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' ? value : undefined;
}

/** A finite number field, or undefined. */
export function num(data: Readonly<Record<string, unknown>>, key: string): number | undefined {
  const value = data[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A boolean field, or undefined. */
export function bool(data: Readonly<Record<string, unknown>>, key: string): boolean | undefined {
  const value = data[key];
  return typeof value === 'boolean' ? value : undefined;
}

/** An object field as a record, or undefined. */
export function obj(
  data: Readonly<Record<string, unknown>>,
  key: string,
): Readonly<Record<string, unknown>> | undefined {
  const value = data[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** An array of strings field (other items dropped), or an empty array. */
export function strings(data: Readonly<Record<string, unknown>>, key: string): string[] {
  const value = data[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** An error payload's code and message. */
export interface ErrorFacts {
  readonly code: string;
  readonly message: string;
}

/** The `error` field of a payload, when it has a code and a message. */
export function errorOf(data: Readonly<Record<string, unknown>>): ErrorFacts | undefined {
  const error = obj(data, 'error');
  const code = error && str(error, 'code');
  const message = error && str(error, 'message');
  return code !== undefined && message !== undefined ? { code, message } : undefined;
}

/** Milliseconds since the epoch of an event's timestamp. */
export function timeOf(event: LogEvent): number {
  return Date.parse(event.ts);
}

import { OrchestratorError } from '../errors/index.ts';
import type { AppendOptions, ListSessionsOptions, ReadOptions } from './event-store.ts';

/**
 * Checks of the arguments of every store call, shared by the backends so both refuse the same
 * inputs with the same `INVALID_ARGUMENT` messages. Values are never clamped: a bad one fails.
 */

/** Longest accepted session id. */
export const MAX_SESSION_ID_LENGTH = 200;
/** Largest page a single `read` may ask for. */
export const MAX_READ_LIMIT = 10_000;
/** Largest page a single `listSessions` may ask for. */
export const MAX_LIST_LIMIT = 1000;

/** {@link ReadOptions} with defaults applied. */
export interface ReadRange {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly limit: number;
}

/** {@link ListSessionsOptions} with defaults applied. */
export interface ListRange {
  readonly limit: number;
  readonly before: string | undefined;
}

/** The `INVALID_ARGUMENT` error for one field: what was expected and what arrived (value and type). */
export function invalid(field: string, expected: string, value: unknown): OrchestratorError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  return new OrchestratorError('INVALID_ARGUMENT', `${field} must be ${expected}; got ${shown} (${typeof value})`, {
    details: { field, expected, received: typeof value },
  });
}

/** @throws OrchestratorError `INVALID_ARGUMENT` naming the first key of `options` not in `allowed`. */
export function checkKeys(options: object, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw invalid(`${field}.${key}`, `one of ${allowed.join(', ')} (unknown option)`, key);
  }
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a safe integer from `min` to `max`. */
export function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a usable session id. */
export function checkSessionId(value: unknown, field = 'sessionId'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SESSION_ID_LENGTH) {
    throw invalid(field, `a string of 1 to ${MAX_SESSION_ID_LENGTH} characters`, value);
  }
  return value;
}

/** {@link AppendOptions} as checked; `undefined` means "not asked for". */
export interface CheckedAppendOptions {
  readonly expectedLastSeq: number | undefined;
  readonly fencingToken: number | undefined;
}

const NO_APPEND_OPTIONS: CheckedAppendOptions = { expectedLastSeq: undefined, fencingToken: undefined };

/** @throws OrchestratorError `INVALID_ARGUMENT` for unknown keys, a bad `expectedLastSeq` or `fencingToken`. */
export function checkAppendOptions(options: AppendOptions | undefined): CheckedAppendOptions {
  if (options === undefined) return NO_APPEND_OPTIONS;
  checkKeys(options, 'options', ['expectedLastSeq', 'fencingToken']);
  const { expectedLastSeq, fencingToken } = options;
  return {
    expectedLastSeq: expectedLastSeq === undefined ? undefined : integer(expectedLastSeq, 'options.expectedLastSeq', 0),
    fencingToken: fencingToken === undefined ? undefined : integer(fencingToken, 'options.fencingToken', 1),
  };
}

/** Applies the defaults of {@link ReadOptions}. @throws OrchestratorError `INVALID_ARGUMENT` */
export function compileReadOptions(options: ReadOptions | undefined): ReadRange {
  if (options === undefined) return { fromSeq: 1, toSeq: Number.MAX_SAFE_INTEGER, limit: 1000 };
  checkKeys(options, 'options', ['fromSeq', 'toSeq', 'limit']);
  return {
    fromSeq: options.fromSeq === undefined ? 1 : integer(options.fromSeq, 'options.fromSeq', 1),
    toSeq: options.toSeq === undefined ? Number.MAX_SAFE_INTEGER : integer(options.toSeq, 'options.toSeq', 0),
    limit: options.limit === undefined ? 1000 : integer(options.limit, 'options.limit', 1, MAX_READ_LIMIT),
  };
}

/** Applies the defaults of {@link ListSessionsOptions}. @throws OrchestratorError `INVALID_ARGUMENT` */
export function compileListOptions(options: ListSessionsOptions | undefined): ListRange {
  if (options === undefined) return { limit: 100, before: undefined };
  checkKeys(options, 'options', ['limit', 'before']);
  return {
    limit: options.limit === undefined ? 100 : integer(options.limit, 'options.limit', 1, MAX_LIST_LIMIT),
    before: options.before === undefined ? undefined : checkSessionId(options.before, 'options.before'),
  };
}

/** The error for a `before` cursor naming a session that does not exist. */
export function unknownCursor(before: string): OrchestratorError {
  return new OrchestratorError('SESSION_NOT_FOUND', `listSessions: no session "${before}" to page before`, {
    details: { sessionId: before },
  });
}

/** Longest accepted `projectKey` of a transcript (the SDK keeps its own to about 200). */
export const MAX_PROJECT_KEY_LENGTH = 500;
/** Longest accepted transcript `subpath`. */
export const MAX_SUBPATH_LENGTH = 1000;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a lower-case SHA-256 hex digest. */
export function checkHash(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value))
    throw invalid(field, 'a SHA-256 digest (64 hex digits)', value);
  return value;
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a version number (1 or more). */
export function checkVersionNumber(value: unknown, field = 'version'): number {
  return integer(value, field, 1);
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is an array (of anything). */
export function checkArray(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(field, 'an array', value);
  return value;
}

/** Validates a list of session ids and removes repeats. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkSessionIds(value: unknown, field: string): string[] {
  const list = checkArray(value, field);
  return [...new Set(list.map((id, i) => checkSessionId(id, `${field}[${i}]`)))];
}

/** @throws OrchestratorError `INVALID_ARGUMENT` unless `value` is a usable transcript project key. */
export function checkProjectKey(value: unknown, field = 'projectKey'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PROJECT_KEY_LENGTH) {
    throw invalid(field, `a string of 1 to ${MAX_PROJECT_KEY_LENGTH} characters`, value);
  }
}

/** Checks a transcript key; returns its subpath as stored (`''` for the main transcript). */
export function checkTranscriptKey(
  key: unknown,
  withSubpath = true,
): {
  projectKey: string;
  sessionId: string;
  subpath: string;
} {
  if (key === null || typeof key !== 'object') throw invalid('key', 'an object', key);
  const { projectKey, sessionId, subpath } = key as Record<string, unknown>;
  checkProjectKey(projectKey, 'key.projectKey');
  checkSessionId(sessionId, 'key.sessionId');
  if (!withSubpath || subpath === undefined) return { projectKey, sessionId: sessionId as string, subpath: '' };
  // The SDK's contract: the main transcript has no subpath; an empty one is invalid, not "main".
  if (typeof subpath !== 'string' || subpath.length === 0 || subpath.length > MAX_SUBPATH_LENGTH) {
    throw invalid('key.subpath', `undefined or a string of 1 to ${MAX_SUBPATH_LENGTH} characters`, subpath);
  }
  return { projectKey, sessionId: sessionId as string, subpath };
}

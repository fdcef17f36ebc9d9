import { OrchestratorError } from '../errors/index.ts';
import { EVENT_TYPES, type EventType, isEventType } from './catalog.ts';
import type { AnyEvent, OrchestratorEvent } from './envelope.ts';
import { eventSeverity, SEVERITIES, type Severity, severityRank } from './severity.ts';

/**
 * Event filters: which events a subscriber or stream receives, checked once when it registers
 * and compiled into a predicate over event types. Types are a fixed catalog, so the bus asks
 * the predicate once per type and caches the answer; only `sessionId` is compared per event.
 */

/** Which events to receive: by type, by glob pattern over type names, and by session. */
export interface EventFilter {
  /**
   * Event types to receive. Combined with `pattern` as a union (an event matches either).
   * @default every type, when neither `types` nor `pattern` is given
   */
  readonly types?: readonly EventType[];
  /**
   * Glob pattern(s) over type names: `*` matches any run of characters, dots included, so
   * `agent.*`, `*.failed` and `*` all work. Each pattern must match at least one known type.
   * @default every type, when neither `types` nor `pattern` is given
   */
  readonly pattern?: string | readonly string[];
  /** Only events of this session. @default every session */
  readonly sessionId?: string;
  /**
   * Only events of this agent (their `data.agentId`); events that name no agent are left out.
   * Checked per event, unlike types. @default every agent, and events of none
   */
  readonly agentId?: string;
  /**
   * Only events at least this severe (see `eventSeverity`): `warning` keeps retries, denials,
   * failures and alerts. Checked per event. @default `info` (everything)
   */
  readonly minSeverity?: Severity;
}

/** True when the type name `S` matches the glob `P` (`*` = any run of characters). */
type GlobMatch<S extends string, P extends string> = P extends ''
  ? S extends ''
    ? true
    : false
  : P extends `*${infer Rest}`
    ? GlobMatch<S, Rest> extends true
      ? true
      : S extends `${string}${infer STail}`
        ? GlobMatch<STail, P>
        : false
    : P extends `${infer Head}${infer Rest}`
      ? S extends `${Head}${infer STail}`
        ? GlobMatch<STail, Rest>
        : false
      : false;

/** The catalog types a glob (or list of globs) matches; every type for a non-literal string. */
export type PatternTypes<P> = P extends string
  ? string extends P
    ? EventType
    : { [K in EventType]: GlobMatch<K, P> extends true ? K : never }[EventType]
  : P extends readonly (infer Q)[]
    ? PatternTypes<Q>
    : never;

type TypesPart<F> = F extends { readonly types: readonly (infer T)[] } ? T : never;
type PatternPart<F> = F extends { readonly pattern: infer P } ? PatternTypes<P> : never;

/** The event types a filter admits, computed from its literal `types` and `pattern`. */
export type FilterTypes<F extends EventFilter> = F extends { readonly types: unknown } | { readonly pattern: unknown }
  ? Extract<TypesPart<F> | PatternPart<F>, EventType>
  : EventType;

/** The event type a handler or stream receives for filter `F`, narrowed so `switch (e.type)` works. */
export type FilteredEvent<F extends EventFilter> = Extract<AnyEvent, { type: FilterTypes<F> }>;

/** A validated filter, as the bus uses it. */
export interface CompiledFilter {
  /** The session to match, or `null` for every session. */
  readonly sessionId: string | null;
  /** True when events of this type pass the type part of the filter. */
  matchesType(type: string): boolean;
  /**
   * The per-event part of the filter (agent, severity), or `null` when there is none, so that
   * receivers without one pay nothing per event. Applied after `matchesType` and `sessionId`.
   */
  readonly matchesEvent: ((event: OrchestratorEvent) => boolean) | null;
}

const PATTERN_SYNTAX = /^[A-Za-z0-9_.*-]+$/;
const FILTER_KEYS = new Set(['types', 'pattern', 'sessionId', 'agentId', 'minSeverity']);

/**
 * Compiles one glob into a predicate over type names.
 * @throws OrchestratorError `INVALID_ARGUMENT` when the pattern has characters other than
 * letters, digits, `_`, `-`, `.` and `*`.
 */
export function compilePattern(pattern: string): (type: string) => boolean {
  if (!PATTERN_SYNTAX.test(pattern)) {
    throw new OrchestratorError('INVALID_ARGUMENT', `invalid event pattern ${JSON.stringify(pattern)}`, {
      details: { pattern, expected: 'letters, digits, "_", "-", "." and "*"' },
    });
  }
  if (pattern === '*') return () => true;
  const source = pattern
    .split('*')
    .map((part) => part.replaceAll('.', '\\.'))
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  return (type) => regex.test(type);
}

/**
 * Validates a filter and compiles it. Problems are collected and reported together.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming every bad field: unknown keys, unknown
 * types, empty lists, malformed patterns, patterns that match no known type, an empty session id.
 */
export function compileFilter(filter: EventFilter): CompiledFilter {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new OrchestratorError('INVALID_ARGUMENT', `event filter must be an object, got ${describe(filter)}`);
  }
  const issues: string[] = [];
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.has(key)) issues.push(`unknown filter key "${key}"`);
  }
  const predicates: ((type: string) => boolean)[] = [];
  const types = new Set<string>();
  if (filter.types !== undefined) {
    if (!Array.isArray(filter.types) || filter.types.length === 0) {
      issues.push(`types: expected a non-empty array of event types, got ${describe(filter.types)}`);
    } else {
      for (const type of filter.types) {
        if (typeof type === 'string' && isEventType(type)) types.add(type);
        else issues.push(`types: unknown event type ${describe(type)}`);
      }
    }
  }
  if (filter.pattern !== undefined) {
    const patterns: unknown[] = typeof filter.pattern === 'string' ? [filter.pattern] : [];
    if (Array.isArray(filter.pattern)) patterns.push(...filter.pattern);
    if (patterns.length === 0) {
      issues.push(`pattern: expected a glob or a non-empty array of globs, got ${describe(filter.pattern)}`);
    }
    for (const pattern of patterns) {
      if (typeof pattern !== 'string' || !PATTERN_SYNTAX.test(pattern)) {
        issues.push(`pattern: invalid glob ${describe(pattern)} (letters, digits, "_", "-", "." and "*")`);
        continue;
      }
      const predicate = compilePattern(pattern);
      if (!EVENT_TYPES.some(predicate)) issues.push(`pattern: ${JSON.stringify(pattern)} matches no known event type`);
      predicates.push(predicate);
    }
  }
  const sessionId = filter.sessionId;
  if (sessionId !== undefined && (typeof sessionId !== 'string' || sessionId.length === 0)) {
    issues.push(`sessionId: expected a non-empty string, got ${describe(sessionId)}`);
  }
  const agentId = filter.agentId;
  if (agentId !== undefined && (typeof agentId !== 'string' || agentId.length === 0)) {
    issues.push(`agentId: expected a non-empty string, got ${describe(agentId)}`);
  }
  const minSeverity = filter.minSeverity;
  if (minSeverity !== undefined && !(SEVERITIES as readonly unknown[]).includes(minSeverity)) {
    issues.push(`minSeverity: expected one of ${SEVERITIES.join(', ')}, got ${describe(minSeverity)}`);
  }
  if (issues.length > 0) {
    throw new OrchestratorError('INVALID_ARGUMENT', `invalid event filter: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  const everything = filter.types === undefined && filter.pattern === undefined;
  return {
    sessionId: sessionId ?? null,
    matchesType: everything ? () => true : (type) => types.has(type) || predicates.some((p) => p(type)),
    matchesEvent: eventPredicate(agentId, minSeverity),
  };
}

function eventPredicate(
  agentId: string | undefined,
  minSeverity: Severity | undefined,
): ((event: OrchestratorEvent) => boolean) | null {
  const rank = minSeverity === undefined ? 0 : severityRank(minSeverity);
  if (agentId === undefined && rank === 0) return null;
  return (event) => {
    if (agentId !== undefined && (event.data as { agentId?: unknown } | null)?.agentId !== agentId) return false;
    return rank === 0 || severityRank(eventSeverity(event as AnyEvent)) >= rank;
  };
}

/** A short description of a value for error messages: its JSON (clipped) and type. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `${text} (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`;
}

import { OrchestratorError } from '../errors/index.ts';

/**
 * Safe names: the one rule for every identifier that may become part of a path or a git ref
 * (session ids, labels, node ids, agent type names). A name that passes can be joined onto a
 * folder without leaving it: no separator, no `..`, no leading dot or dash (hidden files,
 * options), nothing but ASCII letters, digits, `.`, `_` and `-`, at most 128 characters.
 * Every entry point (CLI flags, the library, import files) checks with this module, so the
 * rule and its message are the same everywhere.
 */

/** The pattern of a safe name (the `..` rule is checked apart). */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The rule in words, for messages and docs. */
export const SAFE_NAME_RULE =
  "a letter or digit, then letters, digits, '.', '_' or '-', at most 128 characters, without '..'";

/** Why `value` is not a safe name, or undefined when it is one. */
export function safeNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `expected a string, received ${value === null ? 'null' : typeof value}`;
  if (!SAFE_NAME_PATTERN.test(value) || value.includes('..')) {
    return `expected ${SAFE_NAME_RULE}, received ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
  }
  return undefined;
}

/** True when `value` is a safe name. */
export function isSafeName(value: unknown): value is string {
  return safeNameProblem(value) === undefined;
}

/**
 * Returns `value` when it is a safe name.
 * @param field what the value is, as the caller's user knows it (`--session`, `sessionId`, `header.sessionId`)
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the field and the rule
 * @example checkSafeName(flags.session, '--session')
 */
export function checkSafeName(value: unknown, field: string): string {
  const problem = safeNameProblem(value);
  if (problem === undefined) return value as string;
  throw new OrchestratorError('INVALID_ARGUMENT', `${field} must be a safe name: ${problem}`, {
    details: { field, rule: SAFE_NAME_RULE, received: typeof value === 'string' ? value.slice(0, 200) : typeof value },
  });
}

import { z } from 'zod';
import { type ErrorCode, OrchestratorError } from '../../errors/index.ts';

/** One segment of a path into a definition: an object key or an array index. */
export type PathSegment = string | number;

/** One problem found in a definition, located in its source file. */
export interface DefinitionProblem {
  /** The file name given to the loader, or `<inline>`. */
  readonly file: string;
  /** 1-based line in the file; 0 when the definition did not come from text. */
  readonly line: number;
  /** 1-based column in the file; 0 when the definition did not come from text. */
  readonly column: number;
  /** Where in the definition, such as `nodes[1].dependsOn[0]`; empty for the whole document. */
  readonly path: string;
  /** What is wrong: what was expected and what arrived. */
  readonly message: string;
}

/** A problem before it is placed in the source: the loader turns `path` into a line and column. */
export interface RawProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Point at the key of the last path segment instead of its value (unknown or badly named keys). */
  readonly at?: 'key' | 'value';
  /** A character offset inside the string value (template and expression errors). */
  readonly offset?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Prints a path the way a reader finds it in the file: `nodes[1].retry.on[0]`, `agents["code-writer"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Describes a received value for a message: its type, and the value itself when short. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  return `${typeof value} ${String(value)}`;
}

/**
 * A "; did you mean 'x'?" suffix naming the closest candidate, or an empty string when none is
 * close: within a third of the word in edits (a swap of two letters counts as one), or
 * sharing a long prefix (`retries` -> `retry`).
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    const distance = editDistance(lower, other);
    const prefix = commonPrefix(lower, other);
    const close =
      distance <= Math.max(1, Math.floor(word.length / 3)) ||
      (prefix >= 4 && prefix >= Math.min(lower.length, other.length) - 1);
    if (close && distance < bestScore) {
      best = candidate;
      bestScore = distance;
    }
  }
  return best === undefined ? '' : `; did you mean '${best}'?`;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const up = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, ((rows[i - 2] as number[])[j - 2] ?? 0) + 1);
      }
      row[j] = value;
    }
  }
  return (rows[a.length] as number[])[b.length] ?? 0;
}

/**
 * Turns zod issues into problems with readable messages: expected and received, unknown keys
 * one by one with a suggestion, and unions reduced to the branch the value was meant for.
 */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): RawProblem[] {
  const problems: RawProblem[] = [];
  const visit = (issue: z.core.$ZodIssue, prefix: readonly PathSegment[]) => {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, path);
        for (const key of issue.keys) {
          problems.push({
            path: [...path, key],
            at: 'key',
            message: `unknown field '${key}'${didYouMean(key, known)}`,
          });
        }
        return;
      }
      case 'invalid_union': {
        const branch = pickBranch(issue.errors);
        const expected = unionExpected(issue.errors);
        if (branch) for (const inner of branch) visit(inner, path);
        else if (issue.input === undefined)
          problems.push({ path, message: `required field is missing (expected ${expected})` });
        else problems.push({ path, message: `expected ${expected}, received ${describeValue(issue.input)}` });
        return;
      }
      case 'invalid_key':
        for (const inner of issue.issues)
          problems.push({ path, at: 'key', message: `invalid name: ${message(inner)}` });
        return;
      default:
        problems.push({ path, message: message(issue) });
    }
  };
  for (const issue of issues) visit(issue, []);
  return problems;
}

function message(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required field is missing (expected ${issue.expected})`;
      return `expected ${issue.expected}, received ${describeValue(issue.input)}`;
    case 'invalid_value': {
      // Long lists (error codes) are cut: the suggestion and the JSON Schema say the rest.
      const shown = issue.values.slice(0, 8).map((v) => JSON.stringify(v));
      const options =
        issue.values.length > 8 ? `${shown.join(', ')}, ... (${issue.values.length} values)` : shown.join(', ');
      const hint = typeof issue.input === 'string' ? didYouMean(issue.input, issue.values.map(String)) : '';
      if (issue.input === undefined) return `required field is missing (expected one of ${options})`;
      return `expected one of ${options}, received ${describeValue(issue.input)}${hint}`;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const received = describeValue(issue.input);
      if (issue.origin === 'array') return `expected ${op} ${bound} items, received ${countOf(issue.input)} items`;
      if (issue.origin === 'string') return `expected ${op} ${bound} characters, received ${received}`;
      return `expected a number ${op} ${bound}, received ${received}`;
    }
    case 'invalid_format':
      // Every regex in the schemas carries its own message; zod's default names the raw pattern.
      return issue.message.startsWith('Invalid')
        ? `expected text matching ${issue.pattern ?? issue.format}, received ${describeValue(issue.input)}`
        : issue.message;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}, received ${describeValue(issue.input)}`;
    default:
      return issue.message;
  }
}

function countOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

/**
 * The union branch a value was evidently written for: one whose shape matched, preferring
 * branches whose tag fields (`type: http`) matched, then the fewest issues. When every branch
 * failed on the same tag field, one issue listing all the tags accepted there stands for them.
 */
function pickBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const matching = branches.filter((issues) => issues.length > 0 && issues.every((issue) => !rootMismatch(issue)));
  const tagged = matching.filter((issues) => !issues.some(isTagMismatch));
  const pool = tagged.length > 0 ? tagged : matching;
  if (tagged.length === 0 && matching.length > 1) {
    const tags = matching.map((issues) => issues.find(isTagMismatch));
    const key = tags[0]?.path.join('.');
    if (tags.every((tag) => tag?.code === 'invalid_value' && tag.path.join('.') === key)) {
      const values = tags.flatMap((tag) => (tag?.code === 'invalid_value' ? tag.values : []));
      return [{ ...(tags[0] as z.core.$ZodIssueInvalidValue), values }];
    }
  }
  return [...pool].sort((a, b) => a.length - b.length)[0];
}

/** A value present at a direct field but not one of the literals the branch demands. */
function isTagMismatch(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_value' && issue.path.length === 1 && issue.input !== undefined;
}

function rootMismatch(issue: z.core.$ZodIssue): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === 'invalid_type') return true;
  if (issue.code === 'invalid_union') return pickBranch(issue.errors) === undefined;
  return false;
}

function unionExpected(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const names = new Set<string>();
  for (const issues of branches) {
    for (const issue of issues) {
      if (issue.path.length > 0) continue;
      if (issue.code === 'invalid_type') names.add(issue.expected);
      else if (issue.code === 'invalid_union') names.add(unionExpected(issue.errors));
    }
  }
  return [...names].join(' or ') || 'another value';
}

/** The keys an object schema allows at `path`, for "did you mean" suggestions. */
export function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const found = new Set<string>();
  const walk = (node: z.ZodType, rest: readonly PathSegment[]) => {
    if (node instanceof z.ZodOptional || node instanceof z.ZodNullable || node instanceof z.ZodDefault) {
      walk(node.unwrap() as z.ZodType, rest);
    } else if (node instanceof z.ZodPipe) {
      walk(node.in as z.ZodType, rest);
    } else if (node instanceof z.ZodUnion) {
      for (const option of node.options) walk(option as z.ZodType, rest);
    } else if (rest.length === 0) {
      if (node instanceof z.ZodObject) for (const key of Object.keys(node.shape)) found.add(key);
    } else if (node instanceof z.ZodObject) {
      const child = node.shape[String(rest[0])];
      if (child) walk(child as z.ZodType, rest.slice(1));
    } else if (node instanceof z.ZodRecord) {
      walk(node.valueType as z.ZodType, rest.slice(1));
    } else if (node instanceof z.ZodArray) {
      walk(node.element as z.ZodType, rest.slice(1));
    }
  };
  walk(schema, path);
  return [...found];
}

/** Prints problems one a line, `file:line:col  path  message`, in file order. */
export function formatProblems(problems: readonly DefinitionProblem[]): string {
  return problems
    .map((p) => {
      const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
      return `${where}  ${p.path || '(document)'}  ${p.message}`;
    })
    .join('\n');
}

/** Sorts problems by position and builds the one coded error that reports all of them. */
export function definitionError(
  code: ErrorCode,
  what: string,
  file: string,
  problems: readonly DefinitionProblem[],
): OrchestratorError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new OrchestratorError(code, `${what} ${file} is invalid (${count}):\n${formatProblems(sorted)}`, {
    details: { file, problems: sorted },
  });
}

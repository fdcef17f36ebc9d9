import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { LineCounter, Node } from 'yaml';
import type { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';
import { compileParsedScenario, type Scenario, scenarioInputSchema } from './scenario.ts';

/** One problem found in a scenario, with its position when the file is YAML text. */
export interface ScenarioProblem {
  /** Dotted path of the field, such as `scripts[0].turns[1].fault.status`; `(root)` for the whole file. */
  readonly path: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** 1-based column, when known. */
  readonly column: number | undefined;
  readonly message: string;
}

type PathKey = PropertyKey;

// yaml is loaded by the first scenario parsed, not by importing the library (issue 15). Its Node
// build is CommonJS, so `require` gives the instance an `import` would.
const yamlModule = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

interface Located {
  /** The deepest node found along the path. */
  readonly node: Node | null;
  /** True when the whole path exists. */
  readonly exact: boolean;
  /** Where the problem sits: the key of a mapping entry when the path ends at a key. */
  readonly offset: number | undefined;
}

// Walks the YAML tree along a zod path. A path that leaves the tree (a missing field, or a
// shorthand expanded before validation) stops at the deepest existing node, which is where
// the author has to look anyway.
function locate(root: Node | null, path: readonly PathKey[], pointAtKey: boolean): Located {
  const { isMap, isPair, isScalar, isSeq } = yamlModule();
  let node: Node | null = root;
  let offset = root?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    let next: Node | null | undefined;
    let keyOffset: number | undefined;
    if (isSeq(node) && typeof key === 'number') {
      next = node.items[key] as Node | undefined;
    } else if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
      if (pair) {
        next = (pair.value as Node | null) ?? null;
        keyOffset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      }
    }
    if (next === undefined) return { node, exact: false, offset };
    const last = i === path.length - 1;
    offset = last && pointAtKey && keyOffset !== undefined ? keyOffset : (next?.range?.[0] ?? keyOffset ?? offset);
    node = next;
  }
  return { node, exact: true, offset };
}

function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  root: Node | null,
  lines: LineCounter | undefined,
): ScenarioProblem[] {
  const { isScalar } = yamlModule();
  const problems: ScenarioProblem[] = [];
  const add = (path: readonly PathKey[], message: string, pointAtKey: boolean, expected?: string) => {
    const where = locate(root, path, pointAtKey);
    let text = message;
    if (!where.exact && root !== null && expected !== undefined) text = `missing required field (expected ${expected})`;
    if (where.exact && isScalar(where.node) && !pointAtKey && !/; got /.test(text)) {
      text += `; got ${JSON.stringify(where.node.value)}`;
    }
    const pos = lines && where.offset !== undefined ? lines.linePos(where.offset) : undefined;
    problems.push({ path: formatPath(path), line: pos?.line, column: pos?.col, message: text });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...issue.path, key], `unknown field ${JSON.stringify(key)}`, true);
    } else {
      add(issue.path, issue.message, false, issue.code === 'invalid_type' ? issue.expected : undefined);
    }
  }
  // File order reads best; problems without a line (object input) keep zod's order.
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function invalid(source: string, problems: readonly ScenarioProblem[]): OrchestratorError {
  const lines = problems.map((p) => {
    const at = p.line === undefined ? source : `${source}:${p.line}:${p.column ?? 1}`;
    return `  ${at} ${p.path}: ${p.message}`;
  });
  return new OrchestratorError(
    'SCENARIO_INVALID',
    `Scenario ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { details: { file: source, problems } },
  );
}

function validate(value: unknown, source: string, root: Node | null, lines: LineCounter | undefined): Scenario {
  const result = scenarioInputSchema.safeParse(value);
  if (!result.success) throw invalid(source, problemsFromIssues(result.error.issues, root, lines));
  return compileParsedScenario(result.data, source);
}

/**
 * Parses and validates scenario YAML (or JSON) text.
 * @param text - The file's content.
 * @param fileName - Named in error messages and kept as `Scenario.source`.
 * @throws OrchestratorError `SCENARIO_INVALID` listing every problem with file, line, column and field.
 */
export function parseScenario(text: string, fileName = '<inline>'): Scenario {
  const { LineCounter, parseDocument } = yamlModule();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw invalid(
      fileName,
      doc.errors.map((error) => {
        const pos = lines.linePos(error.pos[0]);
        return { path: '(yaml)', line: pos.line, column: pos.col, message: error.message };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw invalid(fileName, [{ path: '(yaml)', line: undefined, column: undefined, message: String(error) }]);
  }
  return validate(value, fileName, doc.contents as Node | null, lines);
}

/**
 * Validates a scenario given as a plain object (the same shape as the YAML file).
 * @throws OrchestratorError `SCENARIO_INVALID` listing every problem by field.
 */
export function compileScenario(input: unknown, source = '<inline>'): Scenario {
  return validate(input, source, null, undefined);
}

/**
 * Reads, parses and validates a scenario file.
 * @throws OrchestratorError `SCENARIO_INVALID` when the file cannot be read or is invalid.
 */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OrchestratorError('SCENARIO_INVALID', `Cannot read scenario file ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { file: path, problems: [] },
    });
  }
  return parseScenario(text, path);
}

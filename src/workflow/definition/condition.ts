/**
 * Node conditions in CEL (Common Expression Language), with `@marcbachmann/cel-js`.
 *
 * Why CEL and this library: CEL is a non-Turing-complete language built for exactly this
 * (policy and guard expressions over JSON-like data; Kubernetes, Envoy and Firebase use it),
 * so a condition cannot loop, call out or reach anything but the variables it is given. The
 * library has no dependencies, is actively released, evaluates synchronously (JSONata 2.x is
 * async-only, which would make every guard a promise), parses ahead of time with positioned
 * syntax errors, type-checks against declared variables (an unknown variable is a compile
 * error), and only reads own properties of the context (`__proto__`, `constructor` are "no
 * such key"). `@bufbuild/cel` was the other candidate; it needs extra runtime packages.
 *
 * Numbers from JSON are CEL doubles: comparisons mix freely (`inputs.count > 3`), arithmetic
 * needs doubles (`inputs.count + 1.0`).
 */
import type { ASTNode, ParseResult } from '@marcbachmann/cel-js';
import { OrchestratorError } from '../../errors/index.ts';
import { lazyCel, patternProblems } from './cel.ts';

/** A member path read by a condition, such as `['nodes', 'review', 'output', 'approved']`. */
export interface ConditionReference {
  readonly path: readonly string[];
  /** Offset of the path in the condition source. */
  readonly offset: number;
}

/** A condition parsed and type-checked at compile time. Plain data; evaluated by {@link evaluateCondition}. */
export interface CompiledCondition {
  /** The expression as written. */
  readonly source: string;
  /** Every path into `inputs` and `nodes` the expression reads (longest static prefix). */
  readonly references: readonly ConditionReference[];
}

/** The data a condition sees. */
export interface ConditionContext {
  /** The workflow's resolved inputs. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Upstream nodes by id: `status` (the engine's node status) and `output` (null when none). */
  readonly nodes: Readonly<Record<string, { readonly status: string; readonly output?: unknown }>>;
}

/** A syntax or type problem in a condition, at a character offset of its source. */
export interface ConditionSyntaxError {
  readonly message: string;
  readonly offset: number;
}

const environment = lazyCel(['inputs', 'nodes']);

// The parsed form holds closures and mutable AST caches, so it is kept beside the plain,
// frozen compiled condition rather than inside it; a condition restored from JSON re-parses.
const parsedCache = new WeakMap<CompiledCondition, ParseResult>();

const ROOTS = new Set(['inputs', 'nodes']);

/**
 * Parses and type-checks a condition. Unknown variables, syntax errors and non-boolean
 * results are errors; references are returned for the caller to check against the graph.
 */
export function parseCondition(source: string): {
  condition: CompiledCondition | undefined;
  errors: readonly ConditionSyntaxError[];
} {
  let parsed: ParseResult;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    return { condition: undefined, errors: [toSyntaxError(error)] };
  }
  const checked = parsed.check();
  if (!checked.valid) return { condition: undefined, errors: [toSyntaxError(checked.error)] };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return {
      condition: undefined,
      errors: [{ offset: 0, message: `a condition must be true or false, but this expression gives ${checked.type}` }],
    };
  }
  const unsafe = patternProblems(parsed.ast);
  if (unsafe.length > 0) return { condition: undefined, errors: unsafe };
  const references: ConditionReference[] = [];
  collectReferences(parsed.ast, references);
  const condition: CompiledCondition = { source, references };
  parsedCache.set(condition, parsed);
  return { condition, errors: [] };
}

/**
 * Evaluates a compiled condition. Only a boolean result counts: anything else, a missing key
 * or a type mismatch is an error, never a silent `false`.
 * @throws OrchestratorError `CONDITION_FAILED` naming the condition and the cause.
 */
export function evaluateCondition(condition: CompiledCondition, context: ConditionContext): boolean {
  let parsed = parsedCache.get(condition);
  if (!parsed) {
    parsed = environment.parse(condition.source);
    // A condition restored from JSON (a stored plan, an imported session) passes the compile
    // checks again before it runs: its source may predate them, or come from elsewhere.
    const unsafe = patternProblems(parsed.ast)[0];
    if (unsafe) {
      throw new OrchestratorError('CONDITION_FAILED', `condition '${condition.source}' failed: ${unsafe.message}`, {
        details: { condition: condition.source },
      });
    }
    parsedCache.set(condition, parsed);
  }
  const nodes: Record<string, { status: string; output: unknown }> = {};
  for (const [id, node] of Object.entries(context.nodes))
    nodes[id] = { status: node.status, output: node.output ?? null };
  let result: unknown;
  try {
    result = parsed({ inputs: context.inputs, nodes });
  } catch (error) {
    throw new OrchestratorError('CONDITION_FAILED', `condition '${condition.source}' failed: ${firstLine(error)}`, {
      cause: error,
      details: { condition: condition.source },
    });
  }
  if (typeof result !== 'boolean') {
    throw new OrchestratorError(
      'CONDITION_FAILED',
      `condition '${condition.source}' gave ${typeof result}, expected true or false`,
      { details: { condition: condition.source } },
    );
  }
  return result;
}

function toSyntaxError(error: unknown): ConditionSyntaxError {
  const range = (error as { range?: { start: number } } | undefined)?.range;
  return { message: firstLine(error), offset: range?.start ?? 0 };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/** A static member chain (`a.b["c"].d`) as segments, or undefined when any part is computed. */
function chainOf(node: ASTNode): string[] | undefined {
  if (node.op === 'id') return [node.args];
  if (node.op === '.' || node.op === '.?') {
    const base = chainOf(node.args[0]);
    return base && [...base, node.args[1]];
  }
  if (node.op === '[]' || node.op === '[?]') {
    const [target, index] = node.args;
    if (index.op !== 'value' || (typeof index.args !== 'string' && typeof index.args !== 'bigint')) return undefined;
    const base = chainOf(target);
    return base && [...base, String(index.args)];
  }
  return undefined;
}

function collectReferences(node: ASTNode, out: ConditionReference[]): void {
  const chain = chainOf(node);
  if (chain?.[0] !== undefined && ROOTS.has(chain[0]) && chain.length > 1) {
    out.push({ path: chain, offset: node.start });
    return;
  }
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (typeof value === 'object' && value !== null && 'op' in value) collectReferences(value as ASTNode, out);
  };
  if (node.op !== 'value' && node.op !== 'id') visit(node.args);
}

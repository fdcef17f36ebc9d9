import { createRequire } from 'node:module';
import type { ASTNode, Environment, ParseResult } from '@marcbachmann/cel-js';

/** Parses CEL source in one environment; the environment is made at the first parse. */
export interface LazyCel {
  parse(source: string): ParseResult;
}

/**
 * A CEL environment with the project's limits and these variables, all maps. cel-js is loaded
 * by the first expression parsed, not by importing the library (issue 15: memory after import);
 * it is an ES module without top-level await, so `require` returns the instance `import()` would.
 */
export function lazyCel(mapVariables: readonly string[]): LazyCel {
  let environment: Environment | undefined;
  return {
    parse(source) {
      environment ??= makeEnvironment(mapVariables);
      return environment.parse(source);
    },
  };
}

function makeEnvironment(mapVariables: readonly string[]): Environment {
  const cel = createRequire(import.meta.url)('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js');
  let environment = new cel.Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 2_000, maxDepth: 50 },
  });
  for (const name of mapVariables) environment = environment.registerVariable(name, 'map');
  return environment;
}

/** A problem of an expression at a character offset of its source. */
export interface CelProblem {
  readonly message: string;
  readonly offset: number;
}

/**
 * The `matches()` calls of an expression whose pattern could stall the orchestrator or fail
 * only when evaluated. cel-js runs a pattern as a JavaScript `RegExp` on the event loop, with
 * no time limit: a pattern built from data (an agent's output, an input) could be written to
 * backtrack for hours (`^(a+)+$` against forty a's), holding every session of the process. So a
 * pattern must be a string literal, the workflow author's own, and one JavaScript compiles.
 */
export function patternProblems(ast: ASTNode): CelProblem[] {
  const problems: CelProblem[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (typeof value !== 'object' || value === null || !('op' in value)) return;
    const node = value as ASTNode;
    const pattern = matchesPattern(node);
    if (pattern) {
      if (pattern.op !== 'value' || typeof pattern.args !== 'string') {
        problems.push({
          offset: pattern.start,
          message:
            "the pattern of matches() must be a string literal: a pattern taken from data (an agent's output, an input) could be written to stall the orchestrator",
        });
      } else {
        const invalid = regexpProblem(pattern.args);
        if (invalid) problems.push({ offset: pattern.start, message: `invalid pattern for matches(): ${invalid}` });
      }
    }
    if (node.op !== 'value' && node.op !== 'id') visit(node.args);
  };
  visit(ast);
  return problems;
}

/**
 * The pattern argument of a `text.matches(pattern)` call, or of `matches(text, pattern)`: the
 * global form of CEL's standard, which cel-js 8 does not offer yet (its type check refuses it).
 */
function matchesPattern(node: ASTNode): ASTNode | undefined {
  if (node.op === 'rcall') return node.args[0] === 'matches' ? node.args[2][0] : undefined;
  if (node.op === 'call') return node.args[0] === 'matches' ? node.args[1][1] : undefined;
  return undefined;
}

function regexpProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

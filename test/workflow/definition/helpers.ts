import { expect } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import type { DefinitionProblem } from '../../../src/workflow/index.ts';

/** Runs `fn`, expects a `WORKFLOW_INVALID` (or the given code) error, and returns its problems. */
export function problemsOf(fn: () => unknown, code: 'WORKFLOW_INVALID' | 'AGENT_TYPE_INVALID' = 'WORKFLOW_INVALID') {
  try {
    fn();
  } catch (error) {
    if (!isOrchestratorError(error, code)) throw error;
    return { error, problems: error.details.problems as DefinitionProblem[] };
  }
  expect.fail('expected the definition to be rejected');
}

/** The problems as `line:col path message` strings, easy to compare exactly. */
export function where(problems: readonly DefinitionProblem[]): string[] {
  return problems.map((p) => `${p.line}:${p.column} ${p.path} ${p.message}`);
}

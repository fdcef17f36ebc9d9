import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import {
  type CompiledCondition,
  type ConditionContext,
  evaluateCondition,
  parseCondition,
} from '../../../src/workflow/index.ts';

const context: ConditionContext = {
  inputs: { strict: true, count: 5, labels: ['backend'], topic: 'csv' },
  nodes: {
    plan: { status: 'completed', output: { needsUi: false, score: 0.8 } },
    draft: { status: 'failed' },
  },
};

function compile(source: string): CompiledCondition {
  const { condition, errors } = parseCondition(source);
  expect(errors).toEqual([]);
  if (!condition) throw new Error('no condition');
  return condition;
}

describe('conditions (CEL)', () => {
  it('evaluates over inputs, upstream outputs and statuses', () => {
    expect(evaluateCondition(compile('inputs.strict && inputs.count > 3'), context)).toBe(true);
    expect(evaluateCondition(compile('nodes.plan.output.needsUi'), context)).toBe(false);
    expect(evaluateCondition(compile('nodes.plan.output.score >= 0.5 && "backend" in inputs.labels'), context)).toBe(
      true,
    );
    expect(evaluateCondition(compile("nodes.draft.status == 'failed' || inputs.topic.startsWith('x')"), context)).toBe(
      true,
    );
    expect(evaluateCondition(compile('nodes["plan"].status == "completed"'), context)).toBe(true);
    expect(evaluateCondition(compile('size(inputs.labels) == 2'), context)).toBe(false);
  });

  it('sees a node without output as null', () => {
    expect(evaluateCondition(compile('nodes.draft.output == null'), context)).toBe(true);
  });

  it('lists the paths it reads, at their offsets', () => {
    const source =
      'nodes.plan.output.score > 1.0 && inputs.labels.all(l, l != "") && nodes["code-review"].status == "x"';
    expect(compile(source).references).toEqual([
      { path: ['nodes', 'plan', 'output', 'score'], offset: 0 },
      { path: ['inputs', 'labels'], offset: source.indexOf('inputs') },
      { path: ['nodes', 'code-review', 'status'], offset: source.indexOf('nodes["') },
    ]);
  });

  it('reports syntax errors, unknown variables and non-boolean types at compile time', () => {
    expect(parseCondition('inputs.count >').errors).toEqual([{ offset: 14, message: 'Unexpected token: EOF' }]);
    expect(parseCondition('process.exit(1)').errors[0]?.message).toBe('Unknown variable: process');
    expect(parseCondition('"text"').errors[0]?.message).toBe(
      'a condition must be true or false, but this expression gives string',
    );
  });

  it('throws CONDITION_FAILED for missing keys and non-boolean results instead of guessing false', () => {
    const failures = [compile('nodes.plan.output.missing'), compile('inputs.topic == "csv" ? inputs.count : false')];
    for (const condition of failures) {
      let error: unknown;
      try {
        evaluateCondition(condition, context);
      } catch (e) {
        error = e;
      }
      expect(isOrchestratorError(error, 'CONDITION_FAILED')).toBe(true);
    }
  });

  it('re-parses a condition that went through JSON', () => {
    const restored = JSON.parse(JSON.stringify(compile('inputs.count == 5'))) as CompiledCondition;
    expect(evaluateCondition(restored, context)).toBe(true);
  });
});

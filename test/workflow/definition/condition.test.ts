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

/** What evaluating the condition throws, or undefined when it gives a result. */
function failureOf(condition: CompiledCondition, on: ConditionContext): unknown {
  try {
    evaluateCondition(condition, on);
  } catch (error) {
    return error;
  }
  return undefined;
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
      expect(isOrchestratorError(failureOf(condition, context), 'CONDITION_FAILED')).toBe(true);
    }
  });

  it('matches text against a literal pattern', () => {
    expect(evaluateCondition(compile('inputs.topic.matches("^c[a-z]+$")'), context)).toBe(true);
    expect(evaluateCondition(compile('inputs.topic.matches("^x")'), context)).toBe(false);
    expect(evaluateCondition(compile('inputs.labels.exists(l, l.matches("end$"))'), context)).toBe(true);
  });

  it('refuses a pattern taken from data, and an invalid one, at compile time at the pattern', () => {
    const fromData = [
      'inputs.topic.matches(nodes.plan.output.pattern)',
      'inputs.topic.matches(inputs.topic + "+")',
      'inputs.labels.exists(l, l.matches(l))',
    ];
    for (const source of fromData) {
      const { condition, errors } = parseCondition(source);
      expect(condition).toBeUndefined();
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toMatch(/^the pattern of matches\(\) must be a string literal/);
    }
    expect(parseCondition(fromData[0] as string).errors[0]?.offset).toBe('inputs.topic.matches('.length);
    expect(parseCondition('inputs.topic.matches("(")').errors).toEqual([
      {
        offset: 'inputs.topic.matches('.length,
        message: 'invalid pattern for matches(): Invalid regular expression: /(/: Unterminated group',
      },
    ]);
  });

  it('never runs a pattern from data in a condition restored from JSON (an older or imported plan)', () => {
    // Written as a stored plan would hold it, past the compile checks.
    const restored: CompiledCondition = { source: 'nodes.plan.output.text.matches(inputs.pattern)', references: [] };
    const hostile: ConditionContext = {
      inputs: { pattern: '^(a+)+$' },
      nodes: { plan: { status: 'completed', output: { text: `${'a'.repeat(22)}!` } } },
    };
    const error = failureOf(restored, hostile);
    expect(isOrchestratorError(error, 'CONDITION_FAILED')).toBe(true);
    expect((error as Error).message).toContain('must be a string literal');
  });

  it('re-parses a condition that went through JSON', () => {
    const restored = JSON.parse(JSON.stringify(compile('inputs.count == 5'))) as CompiledCondition;
    expect(evaluateCondition(restored, context)).toBe(true);
  });
});

/**
 * The CEL side of custom alert rules: the variables a rule sees (`session`, `workflow`,
 * `node`, `agent`), the figures each may read, checking a rule's expression against them, and
 * evaluating it. Same library and limits as node conditions; never `eval`.
 */
import type { ASTNode, ParseResult } from '@marcbachmann/cel-js';
import type { AlertScope, CompiledAlertRule } from './alerts.ts';
import { lazyCel, patternProblems } from './cel.ts';
import { didYouMean } from './problems.ts';

const COMMON_FIGURES = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheCreationTokens',
  'costUsd',
  'sdkCostUsd',
  'unpricedCostUsd',
  'turns',
  'toolCalls',
  'toolCallsByTool',
  'toolErrors',
  'errors',
  'errorsByKind',
  'interruptions',
  'retries',
  'agents',
  'maxContextTokens',
  'ttft',
  'turnTime',
  'agentTime',
] as const;

/**
 * The fields a custom rule may read, per variable. The monitor checks at compile time that
 * these are exactly its metrics' fields, so a rule that validates here can be evaluated there.
 */
export const ALERT_FIGURES = Object.freeze({
  session: [
    ...COMMON_FIGURES,
    'stepsCompleted',
    'humanInterventions',
    'activeAgents',
    'peakConcurrency',
    'peakRssBytes',
    'peakProcessRssBytes',
    'peakSpareRssBytes',
  ],
  workflow: [
    ...COMMON_FIGURES,
    'workflowId',
    'name',
    'status',
    'startedAt',
    'endedAt',
    'durationMs',
    'stepsCompleted',
    'failedNodes',
  ],
  node: [
    ...COMMON_FIGURES,
    'nodeId',
    'status',
    'startedAt',
    'endedAt',
    'durationMs',
    'nodeAttempts',
    'nodeRetries',
    'nodeInterruptions',
  ],
  agent: [
    ...COMMON_FIGURES,
    'agentId',
    'agentType',
    'nodeId',
    'workflowId',
    'model',
    'state',
    'active',
    'spawnedAt',
    'endedAt',
    'outcome',
    'attempts',
    'contextTokens',
    'peakRssBytes',
  ],
} as const satisfies Record<AlertScope, readonly string[]>);

/** Variables a rule of each scope may use: its own and those around it. */
export const VISIBLE: Readonly<Record<AlertScope, readonly AlertScope[]>> = {
  session: ['session'],
  workflow: ['workflow', 'session'],
  node: ['node', 'workflow', 'session'],
  agent: ['agent', 'node', 'workflow', 'session'],
};

const environment = lazyCel(['session', 'workflow', 'node', 'agent']);

const parsedCache = new Map<string, ParseResult>();

/** The figures a rule is evaluated against (missing scopes are empty maps). */
export interface AlertVariables {
  readonly session: object;
  readonly workflow: object;
  readonly node: object;
  readonly agent: object;
}

/**
 * Evaluates a compiled rule's expression. A `when` rule gives a boolean; a `value` rule a
 * number. A key that is not there yet (a workflow still running has no `durationMs`) throws.
 * @throws Error from the CEL evaluation.
 */
export function evaluateAlertExpression(rule: CompiledAlertRule, variables: AlertVariables): unknown {
  let parsed = parsedCache.get(rule.source);
  if (!parsed) {
    parsed = environment.parse(rule.source);
    parsedCache.set(rule.source, parsed);
  }
  return parsed(variables as unknown as Record<string, unknown>);
}

export function checkExpression(
  source: string,
  expected: 'bool' | 'number',
  scope: AlertScope,
): { message: string; offset: number }[] {
  let parsed: ParseResult;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    return [syntaxError(error)];
  }
  const checked = parsed.check();
  if (!checked.valid) return [syntaxError(checked.error)];
  const type = checked.type;
  const numeric = type === 'double' || type === 'int' || type === 'uint' || type === 'dyn';
  if (expected === 'bool' && type !== 'bool' && type !== 'dyn') {
    return [{ offset: 0, message: `'when' must be true or false, but this expression gives ${type}` }];
  }
  if (expected === 'number' && !numeric) {
    return [{ offset: 0, message: `'value' must be a number, but this expression gives ${type}` }];
  }
  const problems: { message: string; offset: number }[] = patternProblems(parsed.ast);
  collectMembers(parsed.ast, (root, field, offset) => {
    const visible = VISIBLE[scope];
    if (!visible.includes(root as AlertScope)) {
      problems.push({
        offset,
        message: `a rule with scope '${scope}' cannot read '${root}' (it sees ${visible.join(', ')}); set scope: ${root}`,
      });
      return;
    }
    const fields = ALERT_FIGURES[root as AlertScope] as readonly string[];
    if (field !== undefined && !fields.includes(field)) {
      problems.push({ offset, message: `'${root}' has no figure '${field}'${didYouMean(field, fields)}` });
    }
  });
  return problems;
}

/** Calls `visit` with each `root.field` read (or a bare `root`) of the four variables. */
function collectMembers(node: ASTNode, visit: (root: string, field: string | undefined, offset: number) => void): void {
  if ((node.op === '.' || node.op === '.?') && node.args[0].op === 'id') {
    visit(node.args[0].args, node.args[1], node.start);
    return;
  }
  if ((node.op === '[]' || node.op === '[?]') && node.args[0].op === 'id') {
    const index = node.args[1];
    visit(
      node.args[0].args,
      index.op === 'value' && typeof index.args === 'string' ? index.args : undefined,
      node.start,
    );
    if (index.op !== 'value') collectMembers(index, visit);
    return;
  }
  if (node.op === 'id') {
    visit(node.args, undefined, node.start);
    return;
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    else if (typeof value === 'object' && value !== null && 'op' in value) collectMembers(value as ASTNode, visit);
  };
  if (node.op !== 'value') walk(node.args);
}

function syntaxError(error: unknown): { message: string; offset: number } {
  const range = (error as { range?: { start: number } } | undefined)?.range;
  const text = error instanceof Error ? error.message : String(error);
  return { message: text.split('\n')[0] ?? text, offset: range?.start ?? 0 };
}

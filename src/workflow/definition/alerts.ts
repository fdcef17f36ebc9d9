/**
 * The `alerts:` and `budget:` sections of a workflow file (and of the global configuration):
 * thresholds on response time, error rate and cost, custom rules over the monitor's figures
 * in CEL, and hard cost limits. Validated here with positioned problems like the rest of the
 * file; evaluated by the monitor.
 *
 * Custom rules use the same CEL library as node conditions (never `eval`). A rule sees the
 * figures of its scope and of every scope around it, as maps: `agent`, `node`, `workflow`,
 * `session` (see {@link ALERT_FIGURES} for their fields). Numbers are doubles; durations in
 * milliseconds; costs in US dollars.
 */
import { type ASTNode, Environment, type ParseResult } from '@marcbachmann/cel-js';
import { z } from 'zod';
import { type DurationInput, durationSchema, durationToMs } from './duration.ts';
import { nameSchema } from './names.ts';
import {
  definitionError,
  didYouMean,
  formatPath,
  issuesToProblems,
  type PathSegment,
  type RawProblem,
} from './problems.ts';

/** What an alert is about. */
export type AlertScope = 'session' | 'workflow' | 'node' | 'agent';
/** How loud an alert is (the `system.alert` severities). */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** A custom alert rule (loose input). Give `when`, or `value` with `above`. */
export interface AlertRuleDefinition {
  /** The rule's name, recorded on its alerts. */
  name: string;
  /** CEL expression, true while the rule is breached: `workflow.toolCalls > 50`. */
  when?: string;
  /** CEL expression of a number, breached while it is above `above`: `agent.costUsd`. */
  value?: string;
  /** Threshold of `value`. */
  above?: number;
  /** Which figures the rule watches; it is evaluated when they change. @default 'session' */
  scope?: AlertScope;
  /** @default 'warning' */
  severity?: AlertSeverity;
  /** Text of the alert. @default a sentence naming the rule and its expression */
  message?: string;
}

/** Alert thresholds and rules (loose input). */
export interface AlertsDefinition {
  /** Longest a model response may take (in flight or finished), per agent. @default none */
  maxResponseTime?: DurationInput;
  /** Highest share of failed agent attempts among those that ended within `window`. @default none */
  maxErrorRate?: {
    /** A fraction: 0.5 = half of them failed. */
    rate: number;
    /** How far back attempts count. @default '10m' */
    window?: DurationInput;
    /** Fewer ended attempts than this in the window never breach. @default 4 */
    minAttempts?: number;
  };
  /** Cost in US dollars above which an alert is raised (spending goes on; see `budget`). */
  maxCost?: { session?: number; workflow?: number };
  /** Custom rules over the figures. @default [] */
  rules?: AlertRuleDefinition[];
}

/** Hard cost limits in US dollars (loose input): spending stops when one is reached. */
export interface BudgetDefinition {
  /** Limit of the whole session. @default none */
  session?: number;
  /** Limit of this workflow run. @default none */
  workflow?: number;
  /** Limits per agent type, over all agents of that type in the session. @default {} */
  agentTypes?: Record<string, number>;
  /** What happens when a limit is reached: `fail` the workflow's agents, or `pause` it (resumable). @default the global setting, else 'fail' */
  onExhausted?: 'fail' | 'pause';
}

/** A custom rule, compiled. */
export interface CompiledAlertRule {
  readonly name: string;
  readonly scope: AlertScope;
  readonly severity: AlertSeverity;
  readonly message: string | undefined;
  /** A boolean (`when`) or numeric (`value` with `above`) expression. */
  readonly kind: 'when' | 'value';
  readonly source: string;
  readonly above: number | undefined;
}

/** Alert settings, compiled (durations in ms). */
export interface CompiledAlerts {
  readonly maxResponseTimeMs: number | undefined;
  readonly maxErrorRate: { readonly rate: number; readonly windowMs: number; readonly minAttempts: number } | undefined;
  readonly maxCost: { readonly session: number | undefined; readonly workflow: number | undefined };
  readonly rules: readonly CompiledAlertRule[];
}

/** A budget, compiled. */
export interface CompiledBudget {
  readonly session: number | undefined;
  readonly workflow: number | undefined;
  readonly agentTypes: Readonly<Record<string, number>>;
  /** Undefined when not stated: the global setting applies, else `fail`. */
  readonly onExhausted: 'fail' | 'pause' | undefined;
}

/** Defaults of the two sections. */
export const ALERT_DEFAULTS = Object.freeze({
  errorWindow: '10m',
  minAttempts: 4,
  scope: 'session',
  severity: 'warning',
  onExhausted: 'fail',
} as const);

/** Names of the built-in rules, as recorded on their alerts; custom rules may not take them. */
export const BUILT_IN_ALERT_RULES = Object.freeze([
  'max_response_time',
  'max_error_rate',
  'max_session_cost',
  'max_workflow_cost',
] as const);

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
const VISIBLE: Readonly<Record<AlertScope, readonly AlertScope[]>> = {
  session: ['session'],
  workflow: ['workflow', 'session'],
  node: ['node', 'workflow', 'session'],
  agent: ['agent', 'node', 'workflow', 'session'],
};

const usd = z.number().nonnegative();

const ruleSchema = z
  .strictObject({
    name: nameSchema('rule name').meta({ description: 'Name of the rule, recorded on its alerts.' }),
    when: z.string().min(1).optional().meta({ description: 'CEL expression, true while the rule is breached.' }),
    value: z.string().min(1).optional().meta({ description: 'CEL expression of a number, compared with above.' }),
    above: z.number().optional().meta({ description: 'Threshold of value.' }),
    scope: z
      .enum(['session', 'workflow', 'node', 'agent'])
      .optional()
      .meta({ description: 'Figures the rule watches.', default: ALERT_DEFAULTS.scope }),
    severity: z
      .enum(['info', 'warning', 'critical'])
      .optional()
      .meta({ description: 'Severity of its alerts.', default: ALERT_DEFAULTS.severity }),
    message: z.string().min(1).optional().meta({ description: 'Text of its alerts.' }),
  })
  .meta({ title: 'Alert rule', description: 'A custom alert rule: when, or value with above.' });

/** The schema of the `alerts:` section. */
export const alertsSchema = z
  .strictObject({
    maxResponseTime: durationSchema.optional().meta({ description: 'Longest a model response may take.' }),
    maxErrorRate: z
      .strictObject({
        rate: z.number().min(0).max(1).meta({ description: 'Highest share of failed agent attempts (0 to 1).' }),
        window: durationSchema
          .optional()
          .meta({ description: 'How far back attempts count.', default: ALERT_DEFAULTS.errorWindow }),
        minAttempts: z
          .number()
          .int()
          .min(1)
          .optional()
          .meta({ description: 'Fewer ended attempts never breach.', default: ALERT_DEFAULTS.minAttempts }),
      })
      .optional(),
    maxCost: z
      .strictObject({
        session: usd.optional().meta({ description: 'US dollars for the session.' }),
        workflow: usd.optional().meta({ description: 'US dollars for the workflow run.' }),
      })
      .optional(),
    rules: z.array(ruleSchema).optional().meta({ description: 'Custom rules over the figures.', default: [] }),
  })
  .meta({ title: 'Alerts', description: 'Alert thresholds and custom rules; alerts are system.alert events.' });

/** The schema of the `budget:` section. */
export const budgetSchema = z
  .strictObject({
    session: usd.optional().meta({ description: 'US dollars the session may spend.' }),
    workflow: usd.optional().meta({ description: 'US dollars this workflow run may spend.' }),
    agentTypes: z
      .record(nameSchema('agent name'), usd)
      .optional()
      .meta({ description: 'US dollars per agent type, over the session.' }),
    onExhausted: z
      .enum(['fail', 'pause'])
      .optional()
      .meta({ description: 'Fail the workflow or pause it.', default: ALERT_DEFAULTS.onExhausted }),
  })
  .meta({ title: 'Budget', description: 'Hard cost limits: spending stops when one is reached.' });

const environment = new Environment({
  unlistedVariablesAreDyn: false,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 2_000, maxDepth: 50 },
})
  .registerVariable('session', 'map')
  .registerVariable('workflow', 'map')
  .registerVariable('node', 'map')
  .registerVariable('agent', 'map');

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

/**
 * Checks custom rules and threshold relations of a raw `alerts:` value: CEL syntax and type,
 * the variables and fields a rule reads, `when` versus `value`/`above`, duplicate or reserved
 * names. Reads only fields of the right type, so it runs even when the schema failed.
 */
export function checkAlerts(raw: unknown, at: readonly PathSegment[]): RawProblem[] {
  const problems: RawProblem[] = [];
  const rules = (raw as { rules?: unknown } | undefined)?.rules;
  if (!Array.isArray(rules)) return problems;
  const seen = new Map<string, number>();
  rules.forEach((rule: Record<string, unknown> | null, i) => {
    if (typeof rule !== 'object' || rule === null) return;
    const path = [...at, 'rules', i];
    const name = typeof rule.name === 'string' ? rule.name : undefined;
    if (name !== undefined) {
      if ((BUILT_IN_ALERT_RULES as readonly string[]).includes(name)) {
        problems.push({ path: [...path, 'name'], message: `'${name}' is the name of a built-in rule` });
      } else if (seen.has(name)) {
        problems.push({
          path: [...path, 'name'],
          message: `duplicate rule name '${name}' (first used by rules[${seen.get(name)}])`,
        });
      } else seen.set(name, i);
    }
    const hasWhen = rule.when !== undefined;
    const hasValue = rule.value !== undefined;
    if (hasWhen === hasValue) {
      problems.push({
        path,
        message: "a rule needs exactly one of 'when' (true when breached) or 'value' (with 'above')",
      });
    }
    if (hasValue && rule.above === undefined) {
      problems.push({
        path: [...path, 'above'],
        message: "required field is missing (a 'value' rule is breached above it)",
      });
    }
    if (hasWhen && rule.above !== undefined) {
      problems.push({ path: [...path, 'above'], message: "'above' goes with 'value', not with 'when'" });
    }
    const scope = (typeof rule.scope === 'string' && rule.scope in VISIBLE ? rule.scope : 'session') as AlertScope;
    for (const field of ['when', 'value'] as const) {
      const source = rule[field];
      if (typeof source !== 'string') continue;
      for (const problem of checkExpression(source, field === 'when' ? 'bool' : 'number', scope)) {
        problems.push({ path: [...path, field], message: problem.message, offset: problem.offset });
      }
    }
  });
  return problems;
}

/**
 * Checks `budget.agentTypes` names against the agent types the workflow knows.
 */
export function checkBudget(raw: unknown, at: readonly PathSegment[], agentNames: ReadonlySet<string>): RawProblem[] {
  const types = (raw as { agentTypes?: unknown } | undefined)?.agentTypes;
  if (typeof types !== 'object' || types === null || Array.isArray(types)) return [];
  return Object.keys(types)
    .filter((name) => !agentNames.has(name))
    .map((name) => ({
      path: [...at, 'agentTypes', name],
      at: 'key' as const,
      message: `unknown agent '${name}'${didYouMean(name, agentNames) || ` (defined: ${[...agentNames].join(', ') || 'none'})`}`,
    }));
}

function checkExpression(
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
  const problems: { message: string; offset: number }[] = [];
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

/** Compiles an `alerts:` value already accepted by {@link alertsSchema} and {@link checkAlerts}. */
export function compileAlerts(value: z.output<typeof alertsSchema>): CompiledAlerts {
  const rate = value.maxErrorRate;
  return {
    maxResponseTimeMs: value.maxResponseTime === undefined ? undefined : durationToMs(value.maxResponseTime),
    maxErrorRate: rate && {
      rate: rate.rate,
      windowMs: durationToMs(rate.window ?? ALERT_DEFAULTS.errorWindow),
      minAttempts: rate.minAttempts ?? ALERT_DEFAULTS.minAttempts,
    },
    maxCost: { session: value.maxCost?.session, workflow: value.maxCost?.workflow },
    rules: (value.rules ?? []).map((rule) => ({
      name: rule.name,
      scope: rule.scope ?? ALERT_DEFAULTS.scope,
      severity: rule.severity ?? ALERT_DEFAULTS.severity,
      message: rule.message,
      kind: rule.when !== undefined ? 'when' : 'value',
      source: (rule.when ?? rule.value) as string,
      above: rule.above,
    })),
  };
}

/** Compiles a `budget:` value already accepted by {@link budgetSchema}. */
export function compileBudget(value: z.output<typeof budgetSchema>): CompiledBudget {
  return {
    session: value.session,
    workflow: value.workflow,
    agentTypes: { ...value.agentTypes },
    onExhausted: value.onExhausted,
  };
}

/**
 * Validates and compiles a budget given as plain data (the global configuration, or the
 * `budget:` of a definition recorded in the log).
 * @throws OrchestratorError `CONFIG_INVALID` naming `source` and every bad field.
 */
export function compileBudgetValue(value: unknown, source: string): CompiledBudget {
  const parsed = budgetSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    const located = issuesToProblems(parsed.error.issues, budgetSchema).map((p) => ({
      file: source,
      line: 0,
      column: 0,
      path: formatPath(p.path),
      message: p.message,
    }));
    throw definitionError('CONFIG_INVALID', 'Budget in', source, located);
  }
  return compileBudget(parsed.data);
}

/**
 * Validates and compiles alert settings given as plain data outside a workflow file (the
 * global configuration), reporting every problem in one error.
 * @throws OrchestratorError `CONFIG_INVALID` whose `details.problems` lists every problem,
 * each naming `source` and the field.
 */
export function compileAlertsValue(value: unknown, source: string): CompiledAlerts {
  const parsed = alertsSchema.safeParse(value, { reportInput: true });
  const problems = [
    ...(parsed.success ? [] : issuesToProblems(parsed.error.issues, alertsSchema)),
    ...checkAlerts(value, []),
  ];
  if (problems.length > 0 || !parsed.success) {
    const located = problems.map((p) => ({
      file: source,
      line: 0,
      column: 0,
      path: formatPath(p.path),
      message: p.message,
    }));
    throw definitionError('CONFIG_INVALID', 'Alert settings in', source, located);
  }
  return compileAlerts(parsed.data);
}

/**
 * The `alerts:` and `budget:` sections of a workflow file (and of the global configuration):
 * thresholds on response time, error rate and cost, custom rules over the monitor's figures
 * in CEL, and hard cost limits. Validated here with positioned problems like the rest of the
 * file; evaluated by the monitor.
 *
 * Custom rules use the same CEL library as node conditions (never `eval`). A rule sees the
 * figures of its scope and of every scope around it, as maps: `agent`, `node`, `workflow`,
 * `session` (their fields: `ALERT_FIGURES` in `alert-expressions.ts`). Numbers are doubles; durations in
 * milliseconds; costs in US dollars.
 */
import { z } from 'zod';
import { checkExpression, VISIBLE } from './alert-expressions.ts';
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

import type { CompiledAlertRule, CompiledAlerts } from '../workflow/index.ts';

/**
 * The settings of alert evaluation: thresholds and rules in force for a session, and which
 * events each custom rule is evaluated after.
 */

/** Thresholds and rules in force for one session (global settings merged with the workflows'). */
export type AlertSettings = CompiledAlerts;

/** No thresholds, no rules. */
export const NO_ALERTS: AlertSettings = Object.freeze({
  maxResponseTimeMs: undefined,
  maxErrorRate: undefined,
  maxCost: Object.freeze({ session: undefined, workflow: undefined }),
  rules: Object.freeze([]),
});

/**
 * Merges alert settings: the lower of two thresholds wins, rules add up (a rule of `extra`
 * named like one of `base` replaces it).
 */
export function mergeAlertSettings(base: AlertSettings, extra: AlertSettings | undefined): AlertSettings {
  if (!extra) return base;
  const lower = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  const names = new Set(extra.rules.map((rule) => rule.name));
  return {
    maxResponseTimeMs: lower(base.maxResponseTimeMs, extra.maxResponseTimeMs),
    maxErrorRate:
      base.maxErrorRate && extra.maxErrorRate
        ? base.maxErrorRate.rate <= extra.maxErrorRate.rate
          ? base.maxErrorRate
          : extra.maxErrorRate
        : (base.maxErrorRate ?? extra.maxErrorRate),
    maxCost: {
      session: lower(base.maxCost.session, extra.maxCost.session),
      workflow: lower(base.maxCost.workflow, extra.maxCost.workflow),
    },
    rules: [...base.rules.filter((rule) => !names.has(rule.name)), ...extra.rules],
  };
}

/** Event types after which figures may have changed, so custom rules are evaluated. */
export const FIGURE_EVENTS: ReadonlySet<string> = new Set([
  'agent.spawned',
  'agent.usage',
  'model.request',
  'model.retry',
  'agent.tool_use',
  'agent.tool_result',
  'agent.retry',
  'agent.completed',
  'agent.failed',
  'agent.state_changed',
  'agent.resources',
  'node.started',
  'node.completed',
  'node.failed',
  'node.interrupted',
  'node.skipped',
  'node.cancelled',
  'workflow.started',
  'workflow.paused',
  'workflow.resumed',
  'workflow.completed',
  'user.input',
]);
export const COST_EVENTS: ReadonlySet<string> = new Set([
  'agent.usage',
  'model.request',
  'agent.completed',
  'agent.failed',
]);
/**
 * The figures each event type can change. A custom rule is evaluated after an event only when
 * the event can change a figure the rule reads (its identifiers are matched against these), so
 * `workflow.toolCalls > 50` costs nothing on the many events that are not tool calls. A rule
 * that reads nothing listed here (a computed key) is evaluated after every such event.
 */
const SPEND = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheCreationTokens', 'costUsd', 'unpricedCostUsd'];
const NODE = ['status', 'nodeAttempts', 'nodeRetries', 'nodeInterruptions', 'startedAt', 'endedAt', 'durationMs'];
const CHANGES: Readonly<Record<string, readonly string[] | 'all'>> = {
  'agent.spawned': 'all',
  'agent.usage': [...SPEND, 'turns', 'maxContextTokens', 'contextTokens', 'ttft', 'turnTime', 'model'],
  'agent.tool_use': ['toolCalls', 'toolCallsByTool'],
  'agent.tool_result': ['toolErrors'],
  'agent.retry': ['retries'],
  'model.request': SPEND,
  'model.retry': ['retries'],
  'agent.completed': [...SPEND, 'sdkCostUsd', 'turns', 'agentTime', 'endedAt', 'outcome', 'attempts'],
  'agent.failed': [
    ...SPEND,
    'sdkCostUsd',
    'turns',
    'errors',
    'errorsByKind',
    'interruptions',
    'agentTime',
    'endedAt',
    'outcome',
    'attempts',
  ],
  'agent.state_changed': ['state', 'active', 'activeAgents', 'peakConcurrency'],
  'agent.resources': ['peakRssBytes', 'peakProcessRssBytes'],
  'node.started': NODE,
  'node.completed': [...NODE, 'stepsCompleted'],
  'node.failed': [...NODE, 'failedNodes'],
  'node.interrupted': NODE,
  'node.skipped': NODE,
  'node.cancelled': NODE,
  'workflow.started': 'all',
  'workflow.paused': ['status'],
  'workflow.resumed': ['status'],
  'workflow.completed': ['status', 'endedAt', 'durationMs'],
  'user.input': ['humanInterventions'],
};
const KNOWN_FIGURES = new Set(Object.values(CHANGES).flatMap((fields) => (fields === 'all' ? [] : fields)));
/** Per rule: the event types after which it is evaluated. */
const RULE_EVENTS = new WeakMap<CompiledAlertRule, ReadonlySet<string>>();

/** The event types after which a custom rule is evaluated. */
export function eventsOf(rule: CompiledAlertRule): ReadonlySet<string> {
  let types = RULE_EVENTS.get(rule);
  if (!types) {
    const read = (rule.source.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).filter((name) => KNOWN_FIGURES.has(name));
    const set = new Set<string>();
    for (const [type, fields] of Object.entries(CHANGES)) {
      if (fields === 'all' || read.length === 0 || read.some((name) => fields.includes(name))) set.add(type);
    }
    types = set;
    RULE_EVENTS.set(rule, types);
  }
  return types;
}

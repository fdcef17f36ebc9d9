import type { AnyEvent, EventDataMap } from '../events/index.ts';
import {
  type AlertScope,
  type CompiledAlertRule,
  type CompiledAlerts,
  evaluateAlertExpression,
} from '../workflow/index.ts';
import { alertKey, type MetricsState } from './metrics.ts';

/**
 * Alert evaluation: decides, event by event, which `system.alert` events to record. Pure
 * apart from the state it is given (no clock: times come from events, or from the `now` a
 * tick passes), and incremental: each event looks only at the figures it changed.
 *
 * Each breach is raised once and cleared once: a rule's alert is keyed by the rule and what
 * it is about (an agent, a workflow, the session), and the state remembers which keys are
 * raised. The live monitor is the only producer of alerts, so it does not feed its own alert
 * events back in; a state rebuilt from the log does ({@link AlertEvaluator.restore}).
 */

/** The payload of one alert to record. */
export type AlertData = EventDataMap['system.alert'];

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

/** What the evaluator remembers between events (plain JSON). */
export interface AlertState {
  /** Raised alerts by `rule|scopeId`, with their severity (a clear repeats it). */
  readonly active: Record<string, AlertData['severity']>;
  /** Ended agent attempts, oldest first: `[time (epoch ms), 1 if it failed]`. */
  outcomes: [number, 0 | 1][];
  /** Agents waiting for a model response, since when (epoch ms). */
  readonly waiting: Record<string, number>;
}

/** A fresh state. */
export function emptyAlertState(): AlertState {
  return { active: {}, outcomes: [], waiting: {} };
}

/** Event types after which figures may have changed, so custom rules are evaluated. */
const FIGURE_EVENTS = new Set([
  'agent.spawned',
  'agent.usage',
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
const COST_EVENTS = new Set(['agent.usage', 'agent.completed', 'agent.failed']);
const INTERRUPTED = new Set(['AGENT_INTERRUPTED', 'AGENT_SHUTDOWN']);
const EMPTY = Object.freeze({});

/**
 * Evaluates alert rules over a session's events. Call {@link evaluate} with each event after
 * the metrics have taken it in; call {@link tick} now and then so that a response that never
 * comes, or failures ageing out of the window, are noticed without a new event.
 */
export class AlertEvaluator {
  readonly state: AlertState;
  settings: AlertSettings;

  constructor(settings: AlertSettings, state: AlertState = emptyAlertState()) {
    this.settings = settings;
    this.state = state;
  }

  /**
   * Brings the state up to date with an event read back from the log, without deciding
   * anything: the log already holds the alerts decided then.
   */
  restore(event: AnyEvent): void {
    if (event.type === 'system.alert') {
      const key = alertKey(event.data.rule, event.data.scopeId);
      if (event.data.state === 'cleared') delete this.state.active[key];
      else this.state.active[key] = event.data.severity;
      return;
    }
    this.#bookkeep(event);
  }

  /** The alerts an event raises or clears (after `metrics` has applied it). */
  evaluate(metrics: MetricsState, event: AnyEvent): AlertData[] {
    if (!FIGURE_EVENTS.has(event.type)) return [];
    const out: AlertData[] = [];
    const settings = this.settings;
    const data = event.data as { agentId?: string };
    this.#bookkeep(event);

    const maxResponse = settings.maxResponseTimeMs;
    if (maxResponse !== undefined && event.type === 'agent.usage' && event.data.durationMs !== undefined) {
      this.#set(out, event.data.durationMs > maxResponse, {
        rule: 'max_response_time',
        severity: 'warning',
        scope: 'agent',
        scopeId: event.data.agentId,
        value: event.data.durationMs,
        threshold: maxResponse,
        message: `a model response of agent ${event.data.agentId} took ${event.data.durationMs} ms (limit ${maxResponse} ms)`,
      });
    }
    if (settings.maxErrorRate && (event.type === 'agent.completed' || event.type === 'agent.failed')) {
      this.#errorRate(out, Date.parse(event.ts));
    }
    if (COST_EVENTS.has(event.type)) this.#cost(out, metrics, data.agentId);
    for (const rule of settings.rules) this.#custom(out, rule, metrics, event);

    // A subject that ended takes its open alerts with it.
    if (
      (event.type === 'agent.completed' || event.type === 'agent.failed') &&
      metrics.agents[event.data.agentId]?.endedAt
    ) {
      this.#clearScope(out, event.data.agentId, 'the agent ended');
    } else if (event.type === 'workflow.completed') {
      this.#clearScope(out, event.data.workflowId, 'the workflow ended');
    }
    return out;
  }

  /**
   * Time-driven checks at `now` (epoch ms): responses in flight for longer than the limit,
   * and the error window moving on.
   */
  tick(now: number): AlertData[] {
    const out: AlertData[] = [];
    const maxResponse = this.settings.maxResponseTimeMs;
    if (maxResponse !== undefined) {
      for (const [agentId, since] of Object.entries(this.state.waiting)) {
        const waited = now - since;
        if (waited <= maxResponse) continue;
        this.#set(out, true, {
          rule: 'max_response_time',
          severity: 'warning',
          scope: 'agent',
          scopeId: agentId,
          value: waited,
          threshold: maxResponse,
          message: `agent ${agentId} has waited ${waited} ms for a model response (limit ${maxResponse} ms)`,
        });
      }
    }
    if (this.settings.maxErrorRate) this.#errorRate(out, now);
    return out;
  }

  /** Keeps the error window and the responses in flight up to date. */
  #bookkeep(event: AnyEvent): void {
    if (event.type === 'agent.state_changed') {
      if (event.data.to === 'thinking') this.state.waiting[event.data.agentId] = Date.parse(event.ts);
      else delete this.state.waiting[event.data.agentId];
    } else if (event.type === 'agent.usage') {
      delete this.state.waiting[event.data.agentId];
    } else if (event.type === 'agent.completed' || event.type === 'agent.failed') {
      delete this.state.waiting[event.data.agentId];
      const code = event.type === 'agent.failed' ? event.data.error.code : undefined;
      if (code === undefined || !INTERRUPTED.has(code)) {
        this.state.outcomes.push([Date.parse(event.ts), code === undefined ? 0 : 1]);
        this.#prune(Date.parse(event.ts));
      }
    }
  }

  #prune(now: number): void {
    const windowMs = this.settings.maxErrorRate?.windowMs ?? 0;
    const outcomes = this.state.outcomes;
    let drop = 0;
    while (drop < outcomes.length && (outcomes[drop] as [number, 0 | 1])[0] < now - windowMs) drop++;
    if (drop > 0) this.state.outcomes = outcomes.slice(drop);
  }

  #errorRate(out: AlertData[], now: number): void {
    const limit = this.settings.maxErrorRate;
    if (!limit) return;
    this.#prune(now);
    const ended = this.state.outcomes.length;
    let failed = 0;
    for (const [, bad] of this.state.outcomes) failed += bad;
    const rate = ended === 0 ? 0 : failed / ended;
    this.#set(out, ended >= limit.minAttempts && rate > limit.rate, {
      rule: 'max_error_rate',
      severity: 'critical',
      scope: 'session',
      value: Math.round(rate * 1000) / 1000,
      threshold: limit.rate,
      message: `${failed} of the last ${ended} agent attempts failed (limit ${limit.rate * 100}%)`,
    });
  }

  #cost(out: AlertData[], metrics: MetricsState, agentId: string | undefined): void {
    const { session: sessionLimit, workflow: workflowLimit } = this.settings.maxCost;
    const spent = metrics.session.costUsd;
    if (sessionLimit !== undefined && spent > sessionLimit) {
      this.#set(out, true, {
        rule: 'max_session_cost',
        severity: 'warning',
        scope: 'session',
        value: round(spent),
        threshold: sessionLimit,
        message: `the session has spent $${spent.toFixed(4)} (alert above $${sessionLimit})`,
      });
    }
    const workflowId = agentId === undefined ? undefined : metrics.agents[agentId]?.workflowId;
    const wf = workflowId === undefined ? undefined : metrics.workflows[workflowId];
    if (workflowLimit !== undefined && wf && wf.costUsd > workflowLimit && wf.endedAt === undefined) {
      this.#set(out, true, {
        rule: 'max_workflow_cost',
        severity: 'warning',
        scope: 'workflow',
        scopeId: wf.workflowId,
        value: round(wf.costUsd),
        threshold: workflowLimit,
        message: `workflow ${wf.name} has spent $${wf.costUsd.toFixed(4)} (alert above $${workflowLimit})`,
      });
    }
  }

  #custom(out: AlertData[], rule: CompiledAlertRule, metrics: MetricsState, event: AnyEvent): void {
    const data = event.data as { agentId?: string; workflowId?: string; nodeId?: string };
    const agent = data.agentId === undefined ? undefined : metrics.agents[data.agentId];
    const workflowId = data.workflowId ?? agent?.workflowId;
    const wf = workflowId === undefined ? undefined : metrics.workflows[workflowId];
    const nodeId = data.nodeId ?? agent?.nodeId;
    const node = nodeId === undefined ? undefined : wf?.nodes[nodeId];
    const subject = scopeSubject(
      rule.scope,
      agent?.agentId,
      wf?.workflowId,
      node && `${wf?.workflowId}/${node.nodeId}`,
    );
    if (subject === null) return;
    let verdict: unknown;
    try {
      verdict = evaluateAlertExpression(rule, {
        session: metrics.session,
        workflow: wf ?? EMPTY,
        node: node ?? EMPTY,
        agent: agent ?? EMPTY,
      });
    } catch {
      // A figure that does not exist yet (a duration before the end): no verdict, no change.
      return;
    }
    const value = typeof verdict === 'number' ? verdict : typeof verdict === 'bigint' ? Number(verdict) : undefined;
    let breached: boolean;
    if (rule.kind === 'when') {
      if (typeof verdict !== 'boolean') return;
      breached = verdict;
    } else {
      if (value === undefined || rule.above === undefined) return;
      breached = value > rule.above;
    }
    this.#set(out, breached, {
      rule: rule.name,
      severity: rule.severity,
      scope: rule.scope,
      ...(subject !== undefined && { scopeId: subject }),
      ...(value !== undefined && { value: round(value) }),
      ...(rule.above !== undefined && { threshold: rule.above }),
      message:
        rule.message ??
        `${rule.name}: ${rule.source}${rule.above !== undefined ? ` > ${rule.above}` : ''}${subject ? ` (${subject})` : ''}`,
    });
  }

  /** Raises `alert` when breached and not raised yet; clears it when raised and no longer breached. */
  #set(out: AlertData[], breached: boolean, alert: AlertData): void {
    const key = alertKey(alert.rule, alert.scopeId);
    const raised = this.state.active[key] !== undefined;
    if (breached && !raised) {
      this.state.active[key] = alert.severity;
      out.push({ ...alert, state: 'raised' });
    } else if (!breached && raised) {
      delete this.state.active[key];
      out.push({ ...alert, state: 'cleared', message: `cleared: ${alert.message}` });
    }
  }

  #clearScope(out: AlertData[], scopeId: string, why: string): void {
    for (const [key, severity] of Object.entries(this.state.active)) {
      const at = key.indexOf('|');
      const id = key.slice(at + 1);
      if (id !== scopeId && !id.startsWith(`${scopeId}/`)) continue;
      delete this.state.active[key];
      out.push({ rule: key.slice(0, at), severity, scopeId: id, state: 'cleared', message: `cleared: ${why}` });
    }
  }
}

/** The id an alert of this scope is about; undefined for the session; null when the event has none. */
function scopeSubject(
  scope: AlertScope,
  agentId: string | undefined,
  workflowId: string | undefined,
  nodeKey: string | undefined,
): string | undefined | null {
  switch (scope) {
    case 'session':
      return undefined;
    case 'workflow':
      return workflowId ?? null;
    case 'node':
      return nodeKey ?? null;
    case 'agent':
      return agentId ?? null;
  }
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

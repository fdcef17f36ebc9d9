import type { AnyEvent, EventDataMap } from '../events/index.ts';
import { type CompiledAlertRule, evaluateAlertExpression } from '../workflow/index.ts';
import { type AlertSettings, COST_EVENTS, eventsOf, FIGURE_EVENTS } from './alert-settings.ts';
import { alertKey, type MetricsState } from './metrics-state.ts';
import { type EventView, viewOf } from './view.ts';

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

/** What the evaluator remembers between events (plain JSON). */
export interface AlertState {
  /** Raised alerts by `rule|scopeId`, with their severity (a clear repeats it). */
  readonly active: Record<string, AlertData['severity']>;
  /**
   * Ended agent attempts, oldest first: `[time (epoch ms), 1 if it failed]`; those before
   * `first` have left the window. Counts are kept as attempts enter and leave, so checking the
   * rate costs the same however many attempts the window holds.
   */
  outcomes: [number, 0 | 1][];
  first: number;
  /** Failed attempts among `outcomes[first..]`. */
  failed: number;
  /** Agents waiting for a model response, since when (the time of the event, ISO). */
  readonly waiting: Record<string, string>;
}

/** A fresh state. */
export function emptyAlertState(): AlertState {
  return { active: {}, outcomes: [], first: 0, failed: 0, waiting: {} };
}

const INTERRUPTED = new Set(['AGENT_INTERRUPTED', 'AGENT_SHUTDOWN']);
const EMPTY = Object.freeze({});
/** The shared "nothing decided" answer: most events decide nothing, and allocate nothing. */
const NONE: AlertData[] = Object.freeze([]) as unknown as AlertData[];

/**
 * Evaluates alert rules over a session's events. Call {@link evaluate} with each event after
 * the metrics have taken it in; call {@link tick} now and then so that a response that never
 * comes, or failures ageing out of the window, are noticed without a new event.
 */
export class AlertEvaluator {
  readonly state: AlertState;
  settings: AlertSettings;
  /** Keys in `state.active`: with none raised, a rule that is not breached needs no lookup. */
  #active: number;

  constructor(settings: AlertSettings, state: AlertState = emptyAlertState()) {
    this.settings = settings;
    this.state = state;
    this.#active = Object.keys(state.active).length;
  }

  /**
   * Brings the state up to date with an event read back from the log, without deciding
   * anything: the log already holds the alerts decided then.
   */
  restore(event: AnyEvent): void {
    if (event.type === 'system.alert') {
      const key = alertKey(event.data.rule, event.data.scopeId);
      const was = this.state.active[key] !== undefined;
      if (event.data.state === 'cleared') delete this.state.active[key];
      else this.state.active[key] = event.data.severity;
      this.#active += (this.state.active[key] !== undefined ? 1 : 0) - (was ? 1 : 0);
      return;
    }
    const view = viewOf(event);
    if (view) this.#bookkeep(view, event.ts);
  }

  /** The alerts an event raises or clears (after `metrics` has applied it). */
  evaluate(metrics: MetricsState, event: AnyEvent): AlertData[] {
    // Interned, so the comparisons below compare pointers (see `internEventType`).
    const view = viewOf(event);
    if (view === undefined || !FIGURE_EVENTS.has(view.type)) return NONE;
    let out: AlertData[] = NONE;
    const settings = this.settings;
    const outcomeAt = this.#bookkeep(view, event.ts);

    const maxResponse = settings.maxResponseTimeMs;
    if (maxResponse !== undefined && view.type === 'agent.usage' && view.data.durationMs !== undefined) {
      const took = view.data.durationMs;
      const agentId = view.data.agentId;
      out = this.#set(out, 'max_response_time', agentId, took > maxResponse, () => ({
        rule: 'max_response_time',
        severity: 'warning',
        scope: 'agent',
        scopeId: agentId,
        value: took,
        threshold: maxResponse,
        message: `a model response of agent ${agentId} took ${took} ms (limit ${maxResponse} ms)`,
      }));
    }
    // Only an attempt that entered the window can push the rate over (one leaving it is seen by a tick).
    if (settings.maxErrorRate && outcomeAt !== undefined) out = this.#errorRate(out, outcomeAt);
    if (COST_EVENTS.has(view.type)) out = this.#cost(out, metrics, (view.data as { agentId: string }).agentId);
    const rules = settings.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledAlertRule;
      if (eventsOf(rule).has(view.type)) out = this.#custom(out, rule, metrics, view);
    }

    // A subject that ended takes its open alerts with it.
    if (
      (view.type === 'agent.completed' || view.type === 'agent.failed') &&
      metrics.agents[view.data.agentId]?.endedAt
    ) {
      out = this.#clearScope(out, view.data.agentId, 'the agent ended');
    } else if (view.type === 'workflow.completed') {
      out = this.#clearScope(out, view.data.workflowId, 'the workflow ended');
    }
    return out;
  }

  /**
   * Time-driven checks at `now` (epoch ms): responses in flight for longer than the limit,
   * and the error window moving on.
   */
  tick(now: number): AlertData[] {
    let out: AlertData[] = NONE;
    const maxResponse = this.settings.maxResponseTimeMs;
    if (maxResponse !== undefined) {
      for (const [agentId, since] of Object.entries(this.state.waiting)) {
        const waited = now - Date.parse(since);
        if (waited <= maxResponse) continue;
        out = this.#set(out, 'max_response_time', agentId, true, () => ({
          rule: 'max_response_time',
          severity: 'warning',
          scope: 'agent',
          scopeId: agentId,
          value: waited,
          threshold: maxResponse,
          message: `agent ${agentId} has waited ${waited} ms for a model response (limit ${maxResponse} ms)`,
        }));
      }
    }
    if (this.settings.maxErrorRate) out = this.#errorRate(out, now);
    return out;
  }

  /**
   * Keeps the error window and the responses in flight up to date; returns the time of an
   * attempt that entered the error window.
   */
  #bookkeep(event: EventView, ts: string): number | undefined {
    const timed = this.settings.maxResponseTimeMs !== undefined;
    if (event.type === 'agent.state_changed') {
      if (!timed) return undefined;
      // Parsed only by a tick, which runs far less often than agents change state.
      if (event.data.to === 'thinking') this.state.waiting[event.data.agentId] = ts;
      else this.#done(event.data.agentId);
    } else if (event.type === 'agent.usage') {
      if (timed) this.#done(event.data.agentId);
    } else if (event.type === 'agent.completed' || event.type === 'agent.failed') {
      if (timed) this.#done(event.data.agentId);
      if (!this.settings.maxErrorRate) return undefined;
      const code = event.type === 'agent.failed' ? event.data.error.code : undefined;
      if (code !== undefined && INTERRUPTED.has(code)) return undefined;
      const at = Date.parse(ts);
      this.state.outcomes.push([at, code === undefined ? 0 : 1]);
      if (code !== undefined) this.state.failed++;
      this.#prune(at);
      return at;
    }
    return undefined;
  }

  /** The agent is no longer waiting for a response (a lookup first: `delete` costs more). */
  #done(agentId: string): void {
    if (this.state.waiting[agentId] !== undefined) delete this.state.waiting[agentId];
  }

  /** Lets attempts older than the window leave it, compacting the array now and then. */
  #prune(now: number): void {
    const state = this.state;
    const since = now - (this.settings.maxErrorRate?.windowMs ?? 0);
    const outcomes = state.outcomes;
    while (state.first < outcomes.length && (outcomes[state.first] as [number, 0 | 1])[0] < since) {
      state.failed -= (outcomes[state.first] as [number, 0 | 1])[1];
      state.first++;
    }
    if (state.first > 1024 && state.first * 2 > outcomes.length) {
      state.outcomes = outcomes.slice(state.first);
      state.first = 0;
    }
  }

  #errorRate(out: AlertData[], now: number): AlertData[] {
    const limit = this.settings.maxErrorRate;
    if (!limit) return out;
    this.#prune(now);
    const ended = this.state.outcomes.length - this.state.first;
    const failed = this.state.failed;
    const rate = ended === 0 ? 0 : failed / ended;
    return this.#set(out, 'max_error_rate', undefined, ended >= limit.minAttempts && rate > limit.rate, () => ({
      rule: 'max_error_rate',
      severity: 'critical',
      scope: 'session',
      value: Math.round(rate * 1000) / 1000,
      threshold: limit.rate,
      message: `${failed} of the last ${ended} agent attempts failed (limit ${limit.rate * 100}%)`,
    }));
  }

  #cost(out: AlertData[], metrics: MetricsState, agentId: string | undefined): AlertData[] {
    const { session: sessionLimit, workflow: workflowLimit } = this.settings.maxCost;
    const spent = metrics.session.costUsd;
    if (sessionLimit !== undefined && spent > sessionLimit) {
      out = this.#set(out, 'max_session_cost', undefined, true, () => ({
        rule: 'max_session_cost',
        severity: 'warning',
        scope: 'session',
        value: round(spent),
        threshold: sessionLimit,
        message: `the session has spent $${spent.toFixed(4)} (alert above $${sessionLimit})`,
      }));
    }
    if (workflowLimit === undefined) return out;
    const workflowId = agentId === undefined ? undefined : metrics.agents[agentId]?.workflowId;
    const wf = workflowId === undefined ? undefined : metrics.workflows[workflowId];
    if (wf && wf.costUsd > workflowLimit && wf.endedAt === undefined) {
      out = this.#set(out, 'max_workflow_cost', wf.workflowId, true, () => ({
        rule: 'max_workflow_cost',
        severity: 'warning',
        scope: 'workflow',
        scopeId: wf.workflowId,
        value: round(wf.costUsd),
        threshold: workflowLimit,
        message: `workflow ${wf.name} has spent $${wf.costUsd.toFixed(4)} (alert above $${workflowLimit})`,
      }));
    }
    return out;
  }

  #custom(out: AlertData[], rule: CompiledAlertRule, metrics: MetricsState, event: EventView): AlertData[] {
    const data = event.data as { agentId?: string; workflowId?: string; nodeId?: string };
    const agent = data.agentId === undefined ? undefined : metrics.agents[data.agentId];
    const workflowId = data.workflowId ?? agent?.workflowId;
    const wf = workflowId === undefined ? undefined : metrics.workflows[workflowId];
    const nodeId = data.nodeId ?? agent?.nodeId;
    const node = nodeId === undefined ? undefined : wf?.nodes[nodeId];
    let subject: string | undefined;
    if (rule.scope === 'agent') {
      if (!agent) return out;
      subject = agent.agentId;
    } else if (rule.scope === 'workflow') {
      if (!wf) return out;
      subject = wf.workflowId;
    } else if (rule.scope === 'node') {
      if (!wf || !node) return out;
      subject = `${wf.workflowId}/${node.nodeId}`;
    }
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
      return out;
    }
    const value = typeof verdict === 'number' ? verdict : typeof verdict === 'bigint' ? Number(verdict) : undefined;
    let breached: boolean;
    if (rule.kind === 'when') {
      if (typeof verdict !== 'boolean') return out;
      breached = verdict;
    } else {
      if (value === undefined || rule.above === undefined) return out;
      breached = value > rule.above;
    }
    return this.#set(out, rule.name, subject, breached, () => ({
      rule: rule.name,
      severity: rule.severity,
      scope: rule.scope,
      ...(subject !== undefined && { scopeId: subject }),
      ...(value !== undefined && { value: round(value) }),
      ...(rule.above !== undefined && { threshold: rule.above }),
      message:
        rule.message ??
        `${rule.name}: ${rule.source}${rule.above !== undefined ? ` > ${rule.above}` : ''}${subject ? ` (${subject})` : ''}`,
    }));
  }

  /**
   * Raises the alert when breached and not raised yet; clears it when raised and no longer
   * breached. The alert is built only then: most events change nothing.
   */
  #set(
    out: AlertData[],
    rule: string,
    scopeId: string | undefined,
    breached: boolean,
    build: () => AlertData,
  ): AlertData[] {
    if (!breached && this.#active === 0) return out;
    const key = alertKey(rule, scopeId);
    const raised = this.state.active[key] !== undefined;
    if (breached === raised) return out;
    const alert = build();
    const list = out === NONE ? [] : out;
    if (breached) {
      this.state.active[key] = alert.severity;
      this.#active++;
      list.push({ ...alert, state: 'raised' });
    } else {
      delete this.state.active[key];
      this.#active--;
      list.push({ ...alert, state: 'cleared', message: `cleared: ${alert.message}` });
    }
    return list;
  }

  #clearScope(out: AlertData[], scopeId: string, why: string): AlertData[] {
    if (this.#active === 0) return out;
    for (const [key, severity] of Object.entries(this.state.active)) {
      const at = key.indexOf('|');
      const id = key.slice(at + 1);
      if (id !== scopeId && !id.startsWith(`${scopeId}/`)) continue;
      delete this.state.active[key];
      this.#active--;
      if (out === NONE) out = [];
      out.push({ rule: key.slice(0, at), severity, scopeId: id, state: 'cleared', message: `cleared: ${why}` });
    }
    return out;
  }
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

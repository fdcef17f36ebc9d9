import type { AnyEvent } from '../events/index.ts';
import { type CompiledBudget, compileBudgetValue } from '../workflow/index.ts';
import type { MetricsState } from './metrics-state.ts';

/**
 * Budget decisions: hard cost limits per session, per workflow run and per agent type (over
 * the session), checked against the live metrics. Pure: the ledger only reads figures and
 * the events that set limits (`workflow.started` carries its definition's `budget:`) or
 * record that one was reached (`budget.exhausted`).
 *
 * A limit is reached when what was spent is at or above it; from then on no agent in its
 * scope may start. An agent that may start gets what is left of the tightest limit as the
 * SDK's `maxBudgetUsd`, so Claude Code itself stops it (subagents included) once it has
 * spent that, at most one model call past it.
 */

/** What a limit applies to: the session, one workflow run, or one agent type in the session. */
export type BudgetScope = 'session' | 'workflow' | 'agentType';

/** A limit that is reached. */
export interface Breach {
  readonly scope: BudgetScope;
  /** The session id, workflow id or agent type name. */
  readonly key: string;
  readonly limitUsd: number;
  readonly spentUsd: number;
  readonly action: 'fail' | 'pause';
  /** The workflow whose agents it stops (the one of the request, for session and agent type limits). */
  readonly workflowId?: string;
}

/** Who wants to spend. */
export interface BudgetRequest {
  readonly workflowId?: string | undefined;
  readonly agentType: string;
}

/** May the request spend: with at most `remainingUsd`, or not, because of `breach`. */
export type BudgetVerdict =
  | { readonly ok: true; readonly remainingUsd: number | undefined }
  | { readonly ok: false; readonly breach: Breach };

/** A limit in force over some work, without what was spent against it. */
export interface ScopeLimit {
  readonly scope: BudgetScope;
  /** The session id, workflow id or agent type name. */
  readonly key: string;
  readonly limitUsd: number;
  /** What reaching it does to the work of the request's workflow. */
  readonly action: 'fail' | 'pause';
}

interface Limit {
  readonly scope: BudgetScope;
  readonly key: string;
  readonly limitUsd: number;
  readonly spentUsd: number;
}

/** The limits in force for one session, and which of them were already reported. */
export class BudgetLedger {
  readonly #sessionId: string;
  readonly #global: CompiledBudget | undefined;
  readonly #workflows = new Map<string, CompiledBudget | undefined>();
  /**
   * `scope|key` of limits already recorded as exhausted, with the limit in force then: a limit
   * raised since (a resumed session) is reported again when spending reaches its new value.
   */
  readonly #recorded = new Map<string, number>();
  /** Limits over the whole session, derived from the budgets above; rebuilt when one is added. */
  #sessionLimit: number | undefined;
  #typeLimits = new Map<string, number | undefined>();
  #unlimited: boolean;

  constructor(sessionId: string, global: CompiledBudget | undefined) {
    this.#sessionId = sessionId;
    this.#global = global;
    this.#sessionLimit = global?.session;
    this.#unlimited = !hasLimit(global);
  }

  /** True when no limit at all applies (the common case: nothing to check). */
  get unlimited(): boolean {
    return this.#unlimited;
  }

  /** Takes in the events that set or report limits; others are ignored. */
  observe(event: AnyEvent): void {
    if (event.type === 'workflow.started') {
      const raw = (event.data.definition as { budget?: unknown } | undefined)?.budget;
      let budget: CompiledBudget | undefined;
      try {
        budget = raw === undefined ? undefined : compileBudgetValue(raw, event.data.file ?? 'workflow');
      } catch {
        // Validated when the workflow was loaded; a definition that no longer validates sets no limit.
        budget = undefined;
      }
      this.#workflows.set(event.data.workflowId, budget);
      if (hasLimit(budget)) {
        this.#unlimited = false;
        this.#sessionLimit = lowest(this.#sessionLimit, budget?.session);
        this.#typeLimits = new Map();
      }
    } else if (event.type === 'budget.exhausted') {
      // Token limits (a node's) are the gateway's alone.
      const { scope, key, limitUsd } = event.data;
      if (limitUsd !== undefined) this.record({ scope, key, limitUsd });
    }
  }

  /** Marks a breach as recorded (the monitor does so as it appends the event). */
  record(breach: RecordedBreach): void {
    const id = `${breach.scope}|${breach.key}`;
    this.#recorded.set(id, Math.max(this.#recorded.get(id) ?? 0, breach.limitUsd));
  }

  /** True when this breach was already recorded at this limit (or a higher one). */
  recorded(breach: RecordedBreach): boolean {
    const at = this.#recorded.get(`${breach.scope}|${breach.key}`);
    return at !== undefined && at >= breach.limitUsd;
  }

  /** Whether a new agent may start, and with how much. */
  admit(metrics: MetricsState, request: BudgetRequest): BudgetVerdict {
    let remaining: number | undefined;
    for (const limit of this.#limits(metrics, request)) {
      if (limit.spentUsd >= limit.limitUsd) return { ok: false, breach: this.#breach(limit, request.workflowId) };
      const left = limit.limitUsd - limit.spentUsd;
      if (remaining === undefined || left < remaining) remaining = left;
    }
    return { ok: true, remainingUsd: remaining };
  }

  /**
   * Limits reached and not yet recorded, among those that apply to this agent's work (or to
   * every workflow and agent type of the session, without one).
   */
  breaches(metrics: MetricsState, agentId?: string): Breach[] {
    const agent = agentId === undefined ? undefined : metrics.agents[agentId];
    const requests: BudgetRequest[] = agent
      ? [{ workflowId: agent.workflowId, agentType: agent.agentType }]
      : Object.keys(metrics.agentTypes).flatMap((agentType) =>
          Object.keys(metrics.workflows).map((workflowId) => ({ workflowId, agentType })),
        );
    const out: Breach[] = [];
    const seen = new Set<string>();
    for (const request of requests) {
      for (const limit of this.#limits(metrics, request)) {
        const id = `${limit.scope}|${limit.key}`;
        if (limit.spentUsd < limit.limitUsd || seen.has(id) || this.recorded(limit)) continue;
        seen.add(id);
        out.push(this.#breach(limit, request.workflowId));
      }
    }
    return out;
  }

  /**
   * Every limit that applies to a workflow's work and is reached now, recorded or not: the
   * session's, the workflow's, and those of the agent types the session has run.
   */
  reached(metrics: MetricsState, workflowId: string): Breach[] {
    const out = new Map<string, Breach>();
    for (const agentType of ['', ...Object.keys(metrics.agentTypes)]) {
      for (const limit of this.#limits(metrics, { workflowId, agentType })) {
        const id = `${limit.scope}|${limit.key}`;
        if (limit.spentUsd >= limit.limitUsd && !out.has(id)) out.set(id, this.#breach(limit, workflowId));
      }
    }
    return [...out.values()];
  }

  /**
   * The limits in force over a request's work (session, its workflow, its agent type), with
   * what reaching each does; what was spent is not looked at. The model gateway reserves
   * against these per model request.
   */
  limitsOf(request: BudgetRequest): ScopeLimit[] {
    const own = request.workflowId === undefined ? undefined : this.#workflows.get(request.workflowId);
    const action = own?.onExhausted ?? this.#global?.onExhausted ?? 'fail';
    return this.#limits(undefined, request).map(({ scope, key, limitUsd }) => ({ scope, key, limitUsd, action }));
  }

  #limits(metrics: MetricsState | undefined, request: BudgetRequest): Limit[] {
    const limits: Limit[] = [];
    const workflow = request.workflowId === undefined ? undefined : this.#workflows.get(request.workflowId);
    const sessionLimit = this.#sessionLimit;
    if (sessionLimit !== undefined) {
      limits.push({
        scope: 'session',
        key: this.#sessionId,
        limitUsd: sessionLimit,
        spentUsd: metrics?.session.costUsd ?? 0,
      });
    }
    if (request.workflowId !== undefined) {
      const workflowLimit = lowest(this.#global?.workflow, workflow?.workflow);
      if (workflowLimit !== undefined) {
        limits.push({
          scope: 'workflow',
          key: request.workflowId,
          limitUsd: workflowLimit,
          spentUsd: metrics?.workflows[request.workflowId]?.costUsd ?? 0,
        });
      }
    }
    const typeLimit = this.#typeLimit(request.agentType);
    if (typeLimit !== undefined) {
      limits.push({
        scope: 'agentType',
        key: request.agentType,
        limitUsd: typeLimit,
        spentUsd: metrics?.agentTypes[request.agentType]?.costUsd ?? 0,
      });
    }
    return limits;
  }

  #typeLimit(agentType: string): number | undefined {
    if (this.#typeLimits.has(agentType)) return this.#typeLimits.get(agentType);
    let limit = this.#global?.agentTypes[agentType];
    for (const budget of this.#workflows.values()) limit = lowest(limit, budget?.agentTypes[agentType]);
    this.#typeLimits.set(agentType, limit);
    return limit;
  }

  #breach(limit: Limit, workflowId: string | undefined): Breach {
    const own = workflowId === undefined ? undefined : this.#workflows.get(workflowId);
    const action = own?.onExhausted ?? this.#global?.onExhausted ?? 'fail';
    return {
      scope: limit.scope,
      key: limit.key,
      limitUsd: limit.limitUsd,
      spentUsd: Math.round(limit.spentUsd * 1e6) / 1e6,
      action,
      ...(workflowId !== undefined && { workflowId }),
    };
  }
}

/**
 * A breach as recorded: the model gateway records limits over nodes and agents too, which
 * this ledger does not enforce but must not report again.
 */
type RecordedBreach = { readonly scope: string; readonly key: string; readonly limitUsd: number };

function hasLimit(budget: CompiledBudget | undefined): boolean {
  return (
    budget !== undefined &&
    (budget.session !== undefined || budget.workflow !== undefined || Object.keys(budget.agentTypes).length > 0)
  );
}

function lowest(...values: (number | undefined)[]): number | undefined {
  let low: number | undefined;
  for (const value of values) if (value !== undefined && (low === undefined || value < low)) low = value;
  return low;
}

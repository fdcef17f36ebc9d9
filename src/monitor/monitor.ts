import type { RunningAgent, SpendGate, SpendRequest, SpendVerdict } from '../agents/index.ts';
import { OrchestratorError } from '../errors/index.ts';
import { type AnyEvent, type NewEvent, type Subscription, typedEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { type CompiledAlerts, type CompiledBudget, compileAlertsValue } from '../workflow/index.ts';
import { mergeAlertSettings, NO_ALERTS } from './alert-settings.ts';
import { type AlertData, AlertEvaluator } from './alerts.ts';
import { type Breach, BudgetLedger, type BudgetRequest, type ScopeLimit } from './budget.ts';
import { applyMetricsEvent, replayMetrics } from './metrics.ts';
import { emptyMetrics, type MetricsState } from './metrics-state.ts';
import { PrometheusExporter } from './prometheus.ts';
import { createTracing, type Tracing, type TracingOptions } from './trace-export.ts';

/** What the monitor may do to agents when a budget is reached (the agent runtime fits). */
export interface AgentStopper {
  stopAgents(which: (agent: RunningAgent) => boolean, error: OrchestratorError): number;
}

/** Options of a {@link Monitor}. */
export interface MonitorOptions {
  /** The log whose committed events are watched, and where alerts and budget events go. */
  readonly log: EventLog;
  /** Alert thresholds and rules for every session (workflow files add theirs). @default none */
  readonly alerts?: CompiledAlerts | undefined;
  /** Cost limits for every session (workflow files add theirs; the lower wins). @default none */
  readonly budget?: CompiledBudget | undefined;
  /** Stops agents when a budget with `onExhausted: fail` is reached. @default none (refusals only) */
  readonly agents?: AgentStopper | undefined;
  /** Pauses a workflow when a budget with `onExhausted: pause` is reached. @default none */
  readonly onPause?: ((sessionId: string, workflowId: string | undefined, reason: string) => void) | undefined;
  /** Traces to build, or none. @default none (tracing is off) */
  readonly tracing?: TracingOptions | undefined;
  /** How often time-driven alert checks run, in ms; 0 turns them off. @default 1000 */
  readonly tickMs?: number;
  /** Sessions whose workflows all ended kept in memory before the oldest are dropped. @default 200 */
  readonly keepFinished?: number;
  /**
   * Workflow nodes of such sessions kept in memory before the oldest sessions are dropped (the
   * newest is always kept): a node's figures take about 600 bytes, so 200 finished sessions of
   * 10,000 nodes would hold over a gigabyte. A dropped session's figures replay from the log. @default 50000
   */
  readonly keepFinishedNodes?: number;
}

/** Dropped sessions remembered so that their late events are not taken as a new start. */
const DROPPED_REMEMBERED = 1000;

/** Everything the monitor keeps for one session. */
interface Watched {
  readonly metrics: MetricsState;
  readonly alerts: AlertEvaluator;
  readonly budget: BudgetLedger;
  /** Workflows started and not ended. */
  open: number;
}

/**
 * The live monitor: projects every committed event into per-session metrics, evaluates alert
 * rules and records `system.alert` events, enforces budgets (as the agent runtime's spend gate,
 * and by stopping or pausing work when spending reaches a limit), and feeds the Prometheus
 * registry and, when on, the trace builder. One per orchestrator process.
 */
export class Monitor implements SpendGate {
  readonly prometheus = new PrometheusExporter();
  readonly #options: MonitorOptions;
  readonly #sessions = new Map<string, Watched>();
  /** Finished sessions, oldest first, with their node counts. */
  #finished: Array<{ readonly sessionId: string; readonly nodes: number }> = [];
  #finishedNodes = 0;
  /**
   * Sessions dropped lately: a late event of one (a version, a lease released) must not start
   * figures of its own that lack everything before it; its figures replay from the log.
   */
  readonly #dropped = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #tracing: Tracing | undefined;
  #subscription: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MonitorOptions) {
    this.#options = options;
    this.#tracing = options.tracing ? createTracing(options.tracing) : undefined;
  }

  /** The trace exporter's spans, when tracing to memory (tests). */
  get tracing(): Tracing | undefined {
    return this.#tracing;
  }

  /** Starts watching the log. Idempotent. */
  start(): this {
    if (this.#subscription || this.#closing) return this;
    this.#subscription = this.#options.log.subscribe({}, (event) => this.#observe(event), {
      name: 'monitor',
      bufferSize: 100_000,
    });
    const every = this.#options.tickMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => this.tick(Date.now()), every);
      this.#timer.unref();
    }
    return this;
  }

  /**
   * Loads a session's past events (a session resumed in this process), so figures, open
   * alerts and spent budgets carry on from the log. Later live events continue from there.
   */
  load(sessionId: string, events: readonly AnyEvent[]): void {
    this.#dropped.delete(sessionId);
    const watched = this.#create(sessionId);
    for (const event of events) {
      if (event.seq <= watched.metrics.lastSeq) continue;
      applyMetricsEvent(watched.metrics, event);
      this.#takeSettings(watched, event);
      watched.alerts.restore(event);
    }
  }

  /**
   * Loads a session's past from the log (a session resumed in this process), unless this
   * monitor already watches it. Call it before the session's new events are appended.
   * @param history the session's whole log, when the caller has read it already
   */
  async track(sessionId: string, history?: readonly AnyEvent[]): Promise<void> {
    const watched = this.#sessions.get(sessionId);
    // Watched from its start in this process: nothing to load. Watched only in part (its
    // history was written without passing the bus, as a fork copies it): rebuilt from the log.
    const lastSeq = history ? (history.at(-1)?.seq ?? 0) : await this.#options.log.lastSeq(sessionId);
    if (watched && watched.metrics.lastSeq >= lastSeq) return;
    this.#sessions.delete(sessionId);
    this.#dropped.delete(sessionId);
    let events = history;
    if (!events) {
      const read: AnyEvent[] = [];
      for await (const event of this.#options.log.readAll(sessionId)) read.push(event);
      events = read;
    }
    this.load(sessionId, events);
  }

  /** The live metrics of a session watched by this process, else its replay from the log. */
  async metrics(sessionId: string): Promise<MetricsState> {
    const watched = this.#sessions.get(sessionId);
    if (watched) return structuredClone(watched.metrics);
    const events: AnyEvent[] = [];
    for await (const event of this.#options.log.readAll(sessionId)) events.push(event);
    return replayMetrics(sessionId, events);
  }

  /** The Prometheus text of the registry (what `/metrics` serves). */
  prometheusText(): Promise<string> {
    return this.prometheus.text();
  }

  /**
   * The spend gate of the agent runtime: refuses an agent whose session, workflow or agent
   * type has reached its budget (recording `budget.exhausted` once and acting on it), else
   * lets it spend at most what the tightest limit leaves.
   */
  admit(request: SpendRequest): SpendVerdict {
    const watched = this.#sessions.get(request.sessionId) ?? this.#create(request.sessionId);
    if (watched.budget.unlimited) return { ok: true };
    const verdict = watched.budget.admit(watched.metrics, request);
    if (verdict.ok) return { ok: true, maxBudgetUsd: verdict.remainingUsd };
    this.#exhausted(request.sessionId, watched, verdict.breach);
    return { ok: false, error: budgetError(verdict.breach) };
  }

  /**
   * The limits in force over an agent's work in a session (session, workflow, agent type),
   * as the configuration and the session's workflow files set them: what the model gateway's
   * budget gate reserves against per request. Empty when no limit applies.
   */
  budgetLimits(sessionId: string, request: BudgetRequest): ScopeLimit[] {
    const watched = this.#sessions.get(sessionId) ?? this.#create(sessionId);
    return watched.budget.unlimited ? [] : watched.budget.limitsOf(request);
  }

  /** Time-driven alert checks (responses in flight too long, the error window moving on). */
  tick(now: number): void {
    for (const [sessionId, watched] of this.#sessions) {
      if (watched.open === 0) continue;
      const alerts = watched.alerts;
      if (alerts.settings.maxResponseTimeMs === undefined && !alerts.settings.maxErrorRate) continue;
      this.#record(sessionId, alerts.tick(now).map(alertEvent), undefined);
    }
  }

  /** Stops watching; waits for alert and budget events under way; flushes traces. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#subscription?.();
      clearInterval(this.#timer);
      await Promise.allSettled(this.#pending);
      await this.#tracing?.shutdown();
    })();
    return this.#closing;
  }

  #observe(event: AnyEvent): void {
    this.prometheus.observe(event);
    this.#tracing?.builder.observe(event);
    let watched = this.#sessions.get(event.sessionId);
    if (!watched && this.#dropped.has(event.sessionId)) return;
    if (!watched) watched = this.#create(event.sessionId);
    else if (event.seq !== 0 && event.seq <= watched.metrics.lastSeq) return;
    applyMetricsEvent(watched.metrics, event);
    this.#takeSettings(watched, event);
    if (event.type === 'system.alert') return;
    const decided = watched.alerts.evaluate(watched.metrics, event);
    if (decided.length > 0) this.#record(event.sessionId, decided.map(alertEvent), event);
    if (
      event.type === 'agent.usage' ||
      event.type === 'model.request' ||
      event.type === 'agent.completed' ||
      event.type === 'agent.failed'
    ) {
      if (!watched.budget.unlimited) {
        for (const breach of watched.budget.breaches(watched.metrics, event.data.agentId)) {
          this.#exhausted(event.sessionId, watched, breach);
        }
      }
    }
    if (event.type === 'workflow.completed' && watched.open === 0) this.#retire(event.sessionId, watched);
  }

  /** Limits and alert rules a workflow brings, and which workflows are open. */
  #takeSettings(watched: Watched, event: AnyEvent): void {
    watched.budget.observe(event);
    if (event.type === 'workflow.started') {
      watched.open++;
      const raw = (event.data.definition as { alerts?: unknown } | undefined)?.alerts;
      if (raw !== undefined) {
        try {
          watched.alerts.settings = mergeAlertSettings(
            watched.alerts.settings,
            compileAlertsValue(raw, event.data.file ?? 'workflow'),
          );
        } catch {
          // Validated when the workflow was loaded; a recorded definition that no longer
          // validates brings no rules rather than stopping the monitor.
        }
      }
    } else if (event.type === 'workflow.completed') {
      watched.open = Math.max(0, watched.open - 1);
    }
  }

  #exhausted(sessionId: string, watched: Watched, breach: Breach): void {
    if (watched.budget.recorded(breach)) return;
    watched.budget.record(breach);
    const exhausted: NewEvent<'budget.exhausted'> = { type: 'budget.exhausted', data: { ...breach } };
    this.#record(sessionId, [exhausted as NewEvent], undefined);
    const reason = `budget exhausted: ${describeBreach(breach)}`;
    try {
      if (breach.action === 'pause') {
        this.#options.onPause?.(sessionId, breach.scope === 'workflow' ? breach.key : breach.workflowId, reason);
      } else {
        this.#options.agents?.stopAgents(inScope(sessionId, breach), budgetError(breach));
      }
    } catch {
      // The run has ended meanwhile: nothing left to stop.
    }
  }

  #create(sessionId: string): Watched {
    let watched = this.#sessions.get(sessionId);
    if (!watched) {
      watched = {
        metrics: emptyMetrics(sessionId),
        alerts: new AlertEvaluator(this.#options.alerts ?? NO_ALERTS),
        budget: new BudgetLedger(sessionId, this.#options.budget),
        open: 0,
      };
      this.#sessions.set(sessionId, watched);
    }
    return watched;
  }

  /**
   * Drops the oldest sessions whose workflows have all ended, beyond `keepFinished` sessions or
   * `keepFinishedNodes` nodes: a count of sessions alone let a few huge runs hold the memory.
   */
  #retire(sessionId: string, watched: Watched): void {
    // A session that finishes a second workflow moves to the end, counted once.
    const earlier = this.#finished.find((entry) => entry.sessionId === sessionId);
    if (earlier) {
      this.#finished = this.#finished.filter((entry) => entry !== earlier);
      this.#finishedNodes -= earlier.nodes;
    }
    let nodes = 0;
    for (const workflow of Object.values(watched.metrics.workflows)) nodes += Object.keys(workflow.nodes).length;
    this.#finished.push({ sessionId, nodes });
    this.#finishedNodes += nodes;
    const keep = this.#options.keepFinished ?? 200;
    const keepNodes = this.#options.keepFinishedNodes ?? 50_000;
    while (this.#finished.length > keep || (this.#finishedNodes > keepNodes && this.#finished.length > 1)) {
      const oldest = this.#finished.shift() as { sessionId: string; nodes: number };
      this.#finishedNodes -= oldest.nodes;
      if (this.#sessions.get(oldest.sessionId)?.open === 0) {
        this.#sessions.delete(oldest.sessionId);
        this.#dropped.add(oldest.sessionId);
        // Only recent ones: a session dropped long ago gets no more events unless resumed.
        if (this.#dropped.size > DROPPED_REMEMBERED)
          this.#dropped.delete(this.#dropped.values().next().value as string);
      }
    }
  }

  #record(sessionId: string, events: NewEvent[], cause: AnyEvent | undefined): void {
    if (events.length === 0 || this.#closing) return;
    // The monitor's own alerts and budget records: typed events, not parsed again by the log.
    const stamped = events.map((event) =>
      typedEvent({
        ...event,
        source: 'monitor',
        correlationId: cause?.correlationId ?? null,
        causationId: cause?.id ?? null,
      }),
    );
    const append = this.#options.log.append(sessionId, stamped).catch(() => {
      // The store is closing or failed: the decision stands in memory, only its record is lost.
    });
    this.#pending.add(append);
    void append.finally(() => this.#pending.delete(append));
  }
}

function alertEvent(data: AlertData): NewEvent {
  const event: NewEvent<'system.alert'> = { type: 'system.alert', data };
  return event as NewEvent;
}

/** The agents a breach stops: those of the session, the workflow, or the agent type. */
function inScope(sessionId: string, breach: Breach): (agent: RunningAgent) => boolean {
  switch (breach.scope) {
    case 'session':
      return (agent) => agent.sessionId === sessionId;
    case 'workflow':
      return (agent) => agent.workflowId === breach.key;
    case 'agentType':
      return (agent) => agent.sessionId === sessionId && agent.agentType === breach.key;
  }
}

function describeBreach(breach: Breach): string {
  const what = breach.scope === 'agentType' ? `agent type ${breach.key}` : `${breach.scope} ${breach.key}`;
  return `${what} has spent $${breach.spentUsd.toFixed(4)} of its $${breach.limitUsd} limit`;
}

/** The typed error of a spawn refused, or an agent stopped, by a budget. */
export function budgetError(breach: Breach): OrchestratorError {
  return new OrchestratorError('BUDGET_EXHAUSTED', `budget exhausted: ${describeBreach(breach)}`, {
    details: { ...breach },
  });
}

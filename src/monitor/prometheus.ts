import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyEvent } from '../events/index.ts';
import { priceUsage } from './pricing.ts';

/**
 * Prometheus metrics fed from committed events, on a registry of their own (never the
 * global one, so several orchestrators, or tests, in one process do not collide). The API
 * serves {@link PrometheusExporter.text} at `/metrics`.
 *
 * Labels are kept to bounded sets (event type, model, agent type, tool, error code, rule):
 * session, workflow and agent ids are not labels, they would grow without end; per-session
 * figures are the metrics projection's job. Tokens and cost are counted when an attempt ends,
 * from its exact per-model usage, so counters never go back.
 */

const SECONDS_TURN = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
const SECONDS_TTFT = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const SECONDS_LONG = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const TOKEN_KINDS = ['input', 'output', 'cache_read', 'cache_creation'] as const;
const INTERRUPTED = new Set(['AGENT_INTERRUPTED', 'AGENT_SHUTDOWN']);
const ACTIVE_STATES = new Set(['initializing', 'thinking', 'using_tools', 'responding']);

/** What the exporter remembers of a live agent, to label its outcome. */
interface LiveAgent {
  readonly agentType: string;
  readonly spawnedAt: number;
  active: boolean;
  model: string | undefined;
}

/** Counters, gauges and histograms of the orchestrator, fed by {@link observe}. */
export class PrometheusExporter {
  /** The registry: serve `await registry.metrics()` (or {@link text}) with {@link contentType}. */
  readonly registry = new Registry();
  readonly #agents = new Map<string, LiveAgent>();
  readonly #workflows = new Map<string, number>();
  readonly #rss = new Map<string, number>();
  readonly #eventChildren = new Map<string, Counter.Internal>();
  readonly #events: Counter;
  readonly #tokens: Counter;
  readonly #cost: Counter;
  readonly #sdkCost: Counter;
  readonly #spawned: Counter;
  readonly #attempts: Counter;
  readonly #errors: Counter;
  readonly #responses: Counter;
  readonly #tools: Counter;
  readonly #toolErrors: Counter;
  readonly #retries: Counter;
  readonly #nodes: Counter;
  readonly #workflowsEnded: Counter;
  readonly #alerts: Counter;
  readonly #budgets: Counter;
  readonly #humans: Counter;
  readonly #active: Gauge;
  readonly #running: Gauge;
  readonly #memory: Gauge;
  readonly #turnTime: Histogram;
  readonly #ttft: Histogram;
  readonly #agentTime: Histogram;
  readonly #workflowTime: Histogram;

  constructor(options: { prefix?: string } = {}) {
    const p = options.prefix ?? 'orchestrator_';
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name: p + name, help, labelNames, registers });
    this.#events = counter('events_total', 'Events committed, by type.', ['type']);
    this.#tokens = counter('tokens_total', 'Tokens used by agents, by kind, model and agent type.', [
      'kind',
      'model',
      'agent_type',
    ]);
    this.#cost = counter('cost_usd_total', 'Cost priced from per-model usage, in US dollars.', ['model', 'agent_type']);
    this.#sdkCost = counter('sdk_cost_usd_total', "The SDK's own cost estimate, in US dollars.", ['agent_type']);
    this.#spawned = counter('agents_spawned_total', 'Agents spawned, by agent type.', ['agent_type']);
    this.#attempts = counter('agent_attempts_total', 'Agent attempts ended, by outcome.', ['agent_type', 'outcome']);
    this.#errors = counter('agent_errors_total', 'Failed agent attempts, by error code.', ['agent_type', 'code']);
    this.#responses = counter('model_responses_total', 'Model responses, by model.', ['model']);
    this.#tools = counter('tool_calls_total', 'Tool calls by agents, by tool.', ['tool']);
    this.#toolErrors = counter('tool_errors_total', 'Tool results marked as errors.');
    this.#retries = counter('retries_total', 'Retries, by Claude Code (sdk) or the orchestrator.', ['by']);
    this.#nodes = counter('nodes_total', 'Workflow nodes ended, by status.', ['status']);
    this.#workflowsEnded = counter('workflows_total', 'Workflow runs ended, by status.', ['status']);
    this.#alerts = counter('alerts_total', 'Alerts raised, by rule and severity.', ['rule', 'severity']);
    this.#budgets = counter('budget_exhausted_total', 'Budgets reached, by scope and action.', ['scope', 'action']);
    this.#humans = counter('human_inputs_total', 'Answers given by people.');
    this.#active = new Gauge({ name: `${p}agents_active`, help: 'Agents holding a process slot.', registers });
    this.#running = new Gauge({ name: `${p}workflows_running`, help: 'Workflow runs in progress.', registers });
    this.#memory = new Gauge({
      name: `${p}agent_processes_rss_bytes`,
      help: 'Resident memory of the agent processes at their latest sample, summed over sessions.',
      registers,
    });
    this.#turnTime = new Histogram({
      name: `${p}model_response_seconds`,
      help: 'Time of each model response, from request to last token.',
      labelNames: ['model'],
      buckets: SECONDS_TURN,
      registers,
    });
    this.#ttft = new Histogram({
      name: `${p}time_to_first_token_seconds`,
      help: 'Time from a model request to its first token.',
      labelNames: ['model'],
      buckets: SECONDS_TTFT,
      registers,
    });
    this.#agentTime = new Histogram({
      name: `${p}agent_duration_seconds`,
      help: 'Wall time of agents, from spawn to final outcome.',
      labelNames: ['agent_type', 'outcome'],
      buckets: SECONDS_LONG,
      registers,
    });
    this.#workflowTime = new Histogram({
      name: `${p}workflow_duration_seconds`,
      help: 'Wall time of workflow runs.',
      labelNames: ['status'],
      buckets: SECONDS_LONG,
      registers,
    });
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts one committed event. */
  observe(event: AnyEvent): void {
    let child = this.#eventChildren.get(event.type);
    if (child === undefined) {
      child = this.#events.labels(event.type);
      this.#eventChildren.set(event.type, child);
    }
    child.inc();
    switch (event.type) {
      case 'agent.spawned':
        this.#agents.set(event.data.agentId, {
          agentType: event.data.agentType,
          spawnedAt: Date.parse(event.ts),
          active: false,
          model: event.data.model,
        });
        this.#spawned.labels(event.data.agentType).inc();
        break;
      case 'agent.state_changed': {
        const agent = this.#agents.get(event.data.agentId);
        const active = ACTIVE_STATES.has(event.data.to);
        if (agent && agent.active !== active) {
          agent.active = active;
          this.#active.inc(active ? 1 : -1);
        }
        break;
      }
      case 'agent.usage': {
        const model = event.data.model ?? 'unknown';
        const agent = this.#agents.get(event.data.agentId);
        if (agent && event.data.subagentId === undefined) agent.model = event.data.model ?? agent.model;
        this.#responses.labels(model).inc();
        if (event.data.durationMs !== undefined) this.#turnTime.labels(model).observe(event.data.durationMs / 1000);
        if (event.data.ttftMs !== undefined) this.#ttft.labels(model).observe(event.data.ttftMs / 1000);
        break;
      }
      case 'agent.tool_use':
        this.#tools.labels(event.data.tool).inc();
        break;
      case 'agent.tool_result':
        if (event.data.isError) this.#toolErrors.inc();
        break;
      case 'agent.retry':
        this.#retries.labels(event.data.by).inc();
        break;
      case 'agent.completed':
      case 'agent.failed':
        this.#attemptEnded(event);
        break;
      case 'agent.resources': {
        this.#rss.set(event.sessionId, event.data.rssBytes);
        let sum = 0;
        for (const value of this.#rss.values()) sum += value;
        this.#memory.set(sum);
        break;
      }
      case 'node.completed':
      case 'node.skipped':
      case 'node.cancelled':
        this.#nodes.labels(event.type.slice('node.'.length)).inc();
        break;
      case 'node.failed':
        if (!event.data.willRetry) this.#nodes.labels('failed').inc();
        break;
      case 'workflow.started':
        this.#workflows.set(event.data.workflowId, Date.parse(event.ts));
        this.#running.inc();
        break;
      case 'workflow.completed': {
        const started = this.#workflows.get(event.data.workflowId);
        this.#workflowsEnded.labels(event.data.status).inc();
        if (started !== undefined) {
          this.#workflows.delete(event.data.workflowId);
          this.#running.dec();
          this.#workflowTime.labels(event.data.status).observe(Math.max(0, Date.parse(event.ts) - started) / 1000);
        }
        this.#rss.delete(event.sessionId);
        break;
      }
      case 'user.input':
        this.#humans.inc();
        break;
      case 'system.alert':
        if (event.data.state !== 'cleared') this.#alerts.labels(event.data.rule, event.data.severity).inc();
        break;
      case 'budget.exhausted':
        this.#budgets.labels(event.data.scope, event.data.action).inc();
        break;
      default:
        break;
    }
  }

  #attemptEnded(event: AnyEvent & { type: 'agent.completed' | 'agent.failed' }): void {
    const agent = this.#agents.get(event.data.agentId);
    const agentType = agent?.agentType ?? 'unknown';
    const byModel = event.data.modelUsage;
    if (byModel && Object.keys(byModel).length > 0) {
      for (const [model, usage] of Object.entries(byModel)) {
        this.#countTokens(model, agentType, usage);
        this.#cost.labels(model, agentType).inc(priceUsage(model, usage).costUsd);
      }
    } else if (event.data.usage) {
      const model = agent?.model ?? 'unknown';
      this.#countTokens(model, agentType, event.data.usage);
      if (event.data.costUsd !== undefined) this.#cost.labels(model, agentType).inc(event.data.costUsd);
    }
    if (event.data.costUsd !== undefined) this.#sdkCost.labels(agentType).inc(event.data.costUsd);
    const code = event.type === 'agent.failed' ? event.data.error.code : undefined;
    const outcome = code === undefined ? 'completed' : INTERRUPTED.has(code) ? 'interrupted' : 'failed';
    this.#attempts.labels(agentType, outcome).inc();
    if (outcome === 'failed') this.#errors.labels(agentType, code as string).inc();
    const final = event.type === 'agent.completed' || event.data.willRetry !== true;
    if (final && agent) {
      this.#agentTime.labels(agentType, outcome).observe(Math.max(0, Date.parse(event.ts) - agent.spawnedAt) / 1000);
      if (agent.active) this.#active.dec();
      this.#agents.delete(event.data.agentId);
    }
  }

  #countTokens(
    model: string,
    agentType: string,
    usage: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheCreationTokens?: number },
  ): void {
    const counts = [usage.inputTokens, usage.outputTokens, usage.cacheReadTokens ?? 0, usage.cacheCreationTokens ?? 0];
    TOKEN_KINDS.forEach((kind, i) => {
      const n = counts[i] ?? 0;
      if (n > 0) this.#tokens.labels(kind, model, agentType).inc(n);
    });
  }
}

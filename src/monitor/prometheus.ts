import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyEvent, EventDataMap } from '../events/index.ts';
import { priceUsage } from './pricing.ts';
import { type EventView, viewOf } from './view.ts';

// prom-client is loaded by the first exporter (an orchestrator's monitor), not by importing the
// library (issue 15). It is CommonJS, so `require` gives the instance an `import` would.
const promClient = () => createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

/**
 * Prometheus metrics fed from committed events, on a registry of their own (never the
 * global one, so several orchestrators, or tests, in one process do not collide). The API
 * serves {@link PrometheusExporter.text} at `/metrics`.
 *
 * Labels are kept to bounded sets (event type, model, agent type, tool, error code, rule):
 * session, workflow and agent ids are not labels, they would grow without end; per-session
 * figures are the metrics projection's job. Tokens and cost are counted as the metrics
 * projection counts them, so counters never go back: behind the model gateway, per request
 * from its `model.request` (usage read off the wire, priced with the monitor's table); without
 * it, when an attempt ends, from its exact per-model usage. Claude Code's own cost estimate is
 * kept beside, in `sdk_cost_usd_total`, either way.
 *
 * The per-event metrics (events by type, nodes ended, model responses and their times, tool calls) are
 * counted in plain maps and handed to prom-client when the registry is read (its `collect`
 * hook), or every {@link PENDING_LIMIT} samples: prom-client hashes the labels of every
 * increment, which cost more than all the rest of the monitor's work on an event.
 */

const SECONDS_TURN = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
const SECONDS_TTFT = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const SECONDS_LONG = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const TOKEN_KINDS = ['input', 'output', 'cache_read', 'cache_creation'] as const;
/** Samples kept before they are handed to prom-client even without a scrape. */
const PENDING_LIMIT = 10_000;
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
  readonly registry: Registry = new (promClient().Registry)();
  readonly #agents = new Map<string, LiveAgent>();
  /** Agents whose requests pass the gateway (a `model.request` was seen): spend counts from the wire. */
  readonly #wire = new Set<string>();
  readonly #workflows = new Map<string, number>();
  readonly #rss = new Map<string, number>();
  /** Counted since the last hand-over to prom-client. */
  #pendingEvents = new Map<string, number>();
  #pendingNodes = new Map<string, number>();
  #pendingTools = new Map<string, number>();
  #pendingResponses = new Map<string, { count: number; turns: number[]; ttfts: number[] }>();
  #pending = 0;
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
  readonly #gatewayRequests: Counter;
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
    const { Counter, Gauge, Histogram } = promClient();
    const p = options.prefix ?? 'orchestrator_';
    const registers = [this.registry];
    const collect = () => this.#handOver();
    const counter = (name: string, help: string, labelNames: string[] = []) =>
      new Counter({ name: p + name, help, labelNames, registers });
    // Counted in a map between scrapes (see the class comment), handed over when read.
    const counted = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name: p + name, help, labelNames, registers, collect });
    this.#events = counted('events_total', 'Events committed, by type.', ['type']);
    this.#tokens = counter(
      'tokens_total',
      'Tokens used by agents, by kind, model and agent type (read off the wire behind the model gateway).',
      ['kind', 'model', 'agent_type'],
    );
    this.#cost = counter(
      'cost_usd_total',
      'Cost priced from per-model usage (read off the wire behind the model gateway), in US dollars.',
      ['model', 'agent_type'],
    );
    this.#sdkCost = counter('sdk_cost_usd_total', "The SDK's own cost estimate, in US dollars.", ['agent_type']);
    this.#spawned = counter('agents_spawned_total', 'Agents spawned, by agent type.', ['agent_type']);
    this.#attempts = counter('agent_attempts_total', 'Agent attempts ended, by outcome.', ['agent_type', 'outcome']);
    this.#errors = counter('agent_errors_total', 'Failed agent attempts, by error code.', ['agent_type', 'code']);
    this.#responses = counted('model_responses_total', 'Model responses, by model.', ['model']);
    this.#tools = counted('tool_calls_total', 'Tool calls by agents, by tool.', ['tool']);
    this.#toolErrors = counter('tool_errors_total', 'Tool results marked as errors.');
    this.#retries = counter('retries_total', 'Retries, by Claude Code (sdk), the orchestrator or the model gateway.', [
      'by',
    ]);
    this.#gatewayRequests = counter(
      'gateway_requests_total',
      'Model requests through the gateway, by model and outcome (ok, or the error code).',
      ['model', 'outcome'],
    );
    this.#nodes = counted('nodes_total', 'Workflow nodes ended, by status.', ['status']);
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
      collect,
    });
    this.#ttft = new Histogram({
      name: `${p}time_to_first_token_seconds`,
      help: 'Time from a model request to its first token.',
      labelNames: ['model'],
      buckets: SECONDS_TTFT,
      registers,
      collect,
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
    const view = viewOf(event);
    if (view !== undefined) this.#pendingEvents.set(view.type, (this.#pendingEvents.get(view.type) ?? 0) + 1);
    if (++this.#pending >= PENDING_LIMIT) this.#handOver();
    if (view === undefined) return;
    switch (view.type) {
      case 'agent.spawned':
        this.#agents.set(view.data.agentId, {
          agentType: view.data.agentType,
          spawnedAt: Date.parse(event.ts),
          active: false,
          model: view.data.model,
        });
        this.#spawned.labels(view.data.agentType).inc();
        break;
      case 'agent.state_changed': {
        const agent = this.#agents.get(view.data.agentId);
        const active = ACTIVE_STATES.has(view.data.to);
        if (agent && agent.active !== active) {
          agent.active = active;
          this.#active.inc(active ? 1 : -1);
        }
        break;
      }
      case 'agent.usage': {
        const model = view.data.model ?? 'unknown';
        const agent = this.#agents.get(view.data.agentId);
        if (agent && view.data.subagentId === undefined) agent.model = view.data.model ?? agent.model;
        let pending = this.#pendingResponses.get(model);
        if (pending === undefined) {
          pending = { count: 0, turns: [], ttfts: [] };
          this.#pendingResponses.set(model, pending);
        }
        pending.count++;
        if (view.data.durationMs !== undefined) pending.turns.push(view.data.durationMs / 1000);
        if (view.data.ttftMs !== undefined) pending.ttfts.push(view.data.ttftMs / 1000);
        break;
      }
      case 'agent.tool_use':
        this.#pendingTools.set(view.data.tool, (this.#pendingTools.get(view.data.tool) ?? 0) + 1);
        break;
      case 'agent.tool_result':
        if (view.data.isError) this.#toolErrors.inc();
        break;
      case 'agent.retry':
        this.#retries.labels(view.data.by).inc();
        break;
      case 'model.request':
        this.#modelRequest(view.data);
        break;
      case 'model.retry':
        this.#retries.labels('gateway').inc();
        break;
      case 'agent.completed':
      case 'agent.failed':
        this.#attemptEnded(view, event.ts);
        break;
      case 'agent.resources': {
        this.#rss.set(event.sessionId, view.data.rssBytes);
        let sum = 0;
        for (const value of this.#rss.values()) sum += value;
        this.#memory.set(sum);
        break;
      }
      case 'node.completed':
      case 'node.skipped':
      case 'node.cancelled':
        this.#countNode(view.type.slice('node.'.length));
        break;
      case 'node.failed':
        if (!view.data.willRetry) this.#countNode('failed');
        break;
      case 'workflow.started':
        this.#workflows.set(view.data.workflowId, Date.parse(event.ts));
        this.#running.inc();
        break;
      case 'workflow.completed': {
        const started = this.#workflows.get(view.data.workflowId);
        this.#workflowsEnded.labels(view.data.status).inc();
        if (started !== undefined) {
          this.#workflows.delete(view.data.workflowId);
          this.#running.dec();
          this.#workflowTime.labels(view.data.status).observe(Math.max(0, Date.parse(event.ts) - started) / 1000);
        }
        this.#rss.delete(event.sessionId);
        break;
      }
      case 'user.input':
        this.#humans.inc();
        break;
      case 'system.alert':
        if (view.data.state !== 'cleared') this.#alerts.labels(view.data.rule, view.data.severity).inc();
        break;
      case 'budget.exhausted':
        this.#budgets.labels(view.data.scope, view.data.action).inc();
        break;
      default:
        break;
    }
  }

  /** One more ended node: every node of a run ends, so it is counted in a map like events. */
  #countNode(status: string): void {
    this.#pendingNodes.set(status, (this.#pendingNodes.get(status) ?? 0) + 1);
  }

  /** Hands what was counted in the maps over to prom-client. */
  #handOver(): void {
    this.#pending = 0;
    if (this.#pendingEvents.size > 0) {
      const counts = this.#pendingEvents;
      this.#pendingEvents = new Map();
      for (const [type, n] of counts) this.#events.inc({ type }, n);
    }
    if (this.#pendingNodes.size > 0) {
      const counts = this.#pendingNodes;
      this.#pendingNodes = new Map();
      for (const [status, n] of counts) this.#nodes.inc({ status }, n);
    }
    if (this.#pendingTools.size > 0) {
      const counts = this.#pendingTools;
      this.#pendingTools = new Map();
      for (const [tool, n] of counts) this.#tools.inc({ tool }, n);
    }
    if (this.#pendingResponses.size > 0) {
      const byModel = this.#pendingResponses;
      this.#pendingResponses = new Map();
      for (const [model, pending] of byModel) {
        this.#responses.inc({ model }, pending.count);
        const turn = this.#turnTime.labels(model);
        for (const seconds of pending.turns) turn.observe(seconds);
        const ttft = this.#ttft.labels(model);
        for (const seconds of pending.ttfts) ttft.observe(seconds);
      }
    }
  }

  /** A request through the gateway: its tokens and cost, as read off the wire. */
  #modelRequest(data: EventDataMap['model.request']): void {
    this.#wire.add(data.agentId);
    const agentType = this.#agents.get(data.agentId)?.agentType ?? 'unknown';
    this.#countTokens(data.model, agentType, data);
    if (data.costUsd > 0) this.#cost.labels(data.model, agentType).inc(data.costUsd);
    this.#gatewayRequests.labels(data.model, data.ok ? 'ok' : (data.error?.code ?? 'error')).inc();
  }

  #attemptEnded(event: EventView & { type: 'agent.completed' | 'agent.failed' }, ts: string): void {
    const agent = this.#agents.get(event.data.agentId);
    const agentType = agent?.agentType ?? 'unknown';
    // Behind the gateway the attempt's usage was counted request by request off the wire:
    // Claude Code's own figures are then kept only as its cost estimate (below).
    if (!this.#wire.has(event.data.agentId)) this.#countAttempt(event.data, agent, agentType);
    if (event.data.costUsd !== undefined) this.#sdkCost.labels(agentType).inc(event.data.costUsd);
    const code = event.type === 'agent.failed' ? event.data.error.code : undefined;
    const outcome = code === undefined ? 'completed' : INTERRUPTED.has(code) ? 'interrupted' : 'failed';
    this.#attempts.labels(agentType, outcome).inc();
    if (outcome === 'failed') this.#errors.labels(agentType, code as string).inc();
    const final = event.type === 'agent.completed' || event.data.willRetry !== true;
    if (final) this.#wire.delete(event.data.agentId);
    if (final && agent) {
      this.#agentTime.labels(agentType, outcome).observe(Math.max(0, Date.parse(ts) - agent.spawnedAt) / 1000);
      if (agent.active) this.#active.dec();
      this.#agents.delete(event.data.agentId);
    }
  }

  /** An attempt's tokens and cost from Claude Code's report (no gateway): per model when it has them. */
  #countAttempt(
    data: EventDataMap['agent.completed'] | EventDataMap['agent.failed'],
    agent: LiveAgent | undefined,
    agentType: string,
  ): void {
    const byModel = data.modelUsage;
    if (byModel && Object.keys(byModel).length > 0) {
      for (const [model, usage] of Object.entries(byModel)) {
        this.#countTokens(model, agentType, usage);
        this.#cost.labels(model, agentType).inc(priceUsage(model, usage).costUsd);
      }
    } else if (data.usage) {
      const model = agent?.model ?? 'unknown';
      this.#countTokens(model, agentType, data.usage);
      if (data.costUsd !== undefined) this.#cost.labels(model, agentType).inc(data.costUsd);
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

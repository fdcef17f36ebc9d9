import type { Registry } from 'prom-client';
import type { AnyEvent, EventDataMap } from '../events/index.ts';
import { priceUsage } from './pricing.ts';
import { makePrometheusMetrics, type PrometheusMetrics } from './prometheus-metrics.ts';
import { type EventView, viewOf } from './view.ts';

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
 *
 * prom-client itself is loaded, and the metrics made, when they are first read: until then the
 * other updates wait in a queue (at most {@link PENDING_LIMIT}, then they are made anyway).
 * Every orchestrator has an exporter, but a CLI run or a library user who never reads metrics
 * paid 10-20 ms of its start to load prom-client, and about 3 MB resident.
 */

/** Samples kept, or updates queued, before they are handed to prom-client even without a read. */
const PENDING_LIMIT = 10_000;
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
  readonly #prefix: string;
  /** prom-client's objects, once made (see the class comment). */
  #metrics: PrometheusMetrics | undefined;
  /** Updates waiting for {@link #metrics}, in order. */
  #queued: Array<(metrics: PrometheusMetrics) => void> = [];
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
  /** Response times waiting in {@link #pendingResponses}: the one part of the maps that grows. */
  #pendingSamples = 0;

  constructor(options: { prefix?: string } = {}) {
    this.#prefix = options.prefix ?? 'orchestrator_';
  }

  /** The registry: serve `await registry.metrics()` (or {@link text}) with {@link contentType}. */
  get registry(): Registry {
    return this.#made().registry;
  }

  /** prom-client's objects, made now if they were not, with the updates queued meanwhile. */
  #made(): PrometheusMetrics {
    if (this.#metrics) return this.#metrics;
    const metrics = makePrometheusMetrics(this.#prefix, () => this.#handOver(metrics));
    this.#metrics = metrics;
    const queued = this.#queued;
    this.#queued = [];
    for (const update of queued) update(metrics);
    return metrics;
  }

  /** Applies an update to the metrics, or queues it until they are made. */
  #apply(update: (metrics: PrometheusMetrics) => void): void {
    if (this.#metrics) update(this.#metrics);
    else if (this.#queued.push(update) >= PENDING_LIMIT) this.#made();
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
    if (view === undefined) return;
    switch (view.type) {
      case 'agent.spawned': {
        this.#agents.set(view.data.agentId, {
          agentType: view.data.agentType,
          spawnedAt: Date.parse(event.ts),
          active: false,
          model: view.data.model,
        });
        const agentType = view.data.agentType;
        this.#apply((m) => m.spawned.labels(agentType).inc());
        break;
      }
      case 'agent.state_changed': {
        const agent = this.#agents.get(view.data.agentId);
        const active = ACTIVE_STATES.has(view.data.to);
        if (agent && agent.active !== active) {
          agent.active = active;
          this.#apply((m) => m.active.inc(active ? 1 : -1));
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
        if (++this.#pendingSamples >= PENDING_LIMIT) this.#handOver(this.#made());
        break;
      }
      case 'agent.tool_use':
        this.#pendingTools.set(view.data.tool, (this.#pendingTools.get(view.data.tool) ?? 0) + 1);
        break;
      case 'agent.tool_result':
        if (view.data.isError) this.#apply((m) => m.toolErrors.inc());
        break;
      case 'agent.retry': {
        const by = view.data.by;
        this.#apply((m) => m.retries.labels(by).inc());
        break;
      }
      case 'model.request':
        this.#modelRequest(view.data);
        break;
      case 'model.retry':
        this.#apply((m) => m.retries.labels('gateway').inc());
        break;
      case 'agent.completed':
      case 'agent.failed':
        this.#attemptEnded(view, event.ts);
        break;
      case 'agent.resources': {
        this.#rss.set(event.sessionId, view.data.rssBytes);
        let sum = 0;
        for (const value of this.#rss.values()) sum += value;
        this.#apply((m) => m.memory.set(sum));
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
        this.#apply((m) => m.running.inc());
        break;
      case 'workflow.completed': {
        const started = this.#workflows.get(view.data.workflowId);
        const status = view.data.status;
        const seconds = started === undefined ? undefined : Math.max(0, Date.parse(event.ts) - started) / 1000;
        if (started !== undefined) this.#workflows.delete(view.data.workflowId);
        this.#apply((m) => {
          m.workflowsEnded.labels(status).inc();
          if (seconds === undefined) return;
          m.running.dec();
          m.workflowTime.labels(status).observe(seconds);
        });
        this.#rss.delete(event.sessionId);
        break;
      }
      case 'user.input':
        this.#apply((m) => m.humans.inc());
        break;
      case 'system.alert':
        if (view.data.state !== 'cleared') {
          const { rule, severity } = view.data;
          this.#apply((m) => m.alerts.labels(rule, severity).inc());
        }
        break;
      case 'budget.exhausted': {
        const { scope, action } = view.data;
        this.#apply((m) => m.budgets.labels(scope, action).inc());
        break;
      }
      default:
        break;
    }
  }

  /** One more ended node: every node of a run ends, so it is counted in a map like events. */
  #countNode(status: string): void {
    this.#pendingNodes.set(status, (this.#pendingNodes.get(status) ?? 0) + 1);
  }

  /** Hands what was counted in the maps over to prom-client. */
  #handOver(metrics: PrometheusMetrics): void {
    this.#pendingSamples = 0;
    if (this.#pendingEvents.size > 0) {
      const counts = this.#pendingEvents;
      this.#pendingEvents = new Map();
      for (const [type, n] of counts) metrics.events.inc({ type }, n);
    }
    if (this.#pendingNodes.size > 0) {
      const counts = this.#pendingNodes;
      this.#pendingNodes = new Map();
      for (const [status, n] of counts) metrics.nodes.inc({ status }, n);
    }
    if (this.#pendingTools.size > 0) {
      const counts = this.#pendingTools;
      this.#pendingTools = new Map();
      for (const [tool, n] of counts) metrics.tools.inc({ tool }, n);
    }
    if (this.#pendingResponses.size > 0) {
      const byModel = this.#pendingResponses;
      this.#pendingResponses = new Map();
      for (const [model, pending] of byModel) {
        metrics.responses.inc({ model }, pending.count);
        const turn = metrics.turnTime.labels(model);
        for (const seconds of pending.turns) turn.observe(seconds);
        const ttft = metrics.ttft.labels(model);
        for (const seconds of pending.ttfts) ttft.observe(seconds);
      }
    }
  }

  /** A request through the gateway: its tokens and cost, as read off the wire. */
  #modelRequest(data: EventDataMap['model.request']): void {
    this.#wire.add(data.agentId);
    const agentType = this.#agents.get(data.agentId)?.agentType ?? 'unknown';
    this.#countTokens(data.model, agentType, data);
    const { model, costUsd } = data;
    const outcome = data.ok ? 'ok' : (data.error?.code ?? 'error');
    this.#apply((m) => {
      if (costUsd > 0) m.cost.labels(model, agentType).inc(costUsd);
      m.gatewayRequests.labels(model, outcome).inc();
    });
  }

  #attemptEnded(event: EventView & { type: 'agent.completed' | 'agent.failed' }, ts: string): void {
    const agent = this.#agents.get(event.data.agentId);
    const agentType = agent?.agentType ?? 'unknown';
    // Behind the gateway the attempt's usage was counted request by request off the wire:
    // Claude Code's own figures are then kept only as its cost estimate (below).
    if (!this.#wire.has(event.data.agentId)) this.#countAttempt(event.data, agent, agentType);
    const sdkCost = event.data.costUsd;
    const code = event.type === 'agent.failed' ? event.data.error.code : undefined;
    const outcome = code === undefined ? 'completed' : INTERRUPTED.has(code) ? 'interrupted' : 'failed';
    const final = event.type === 'agent.completed' || event.data.willRetry !== true;
    if (final) this.#wire.delete(event.data.agentId);
    const ended =
      final && agent
        ? { seconds: Math.max(0, Date.parse(ts) - agent.spawnedAt) / 1000, active: agent.active }
        : undefined;
    if (ended) this.#agents.delete(event.data.agentId);
    this.#apply((m) => {
      if (sdkCost !== undefined) m.sdkCost.labels(agentType).inc(sdkCost);
      m.attempts.labels(agentType, outcome).inc();
      if (outcome === 'failed') m.errors.labels(agentType, code as string).inc();
      if (!ended) return;
      m.agentTime.labels(agentType, outcome).observe(ended.seconds);
      if (ended.active) m.active.dec();
    });
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
        const costUsd = priceUsage(model, usage).costUsd;
        this.#apply((m) => m.cost.labels(model, agentType).inc(costUsd));
      }
    } else if (data.usage) {
      const model = agent?.model ?? 'unknown';
      this.#countTokens(model, agentType, data.usage);
      const costUsd = data.costUsd;
      if (costUsd !== undefined) this.#apply((m) => m.cost.labels(model, agentType).inc(costUsd));
    }
  }

  #countTokens(
    model: string,
    agentType: string,
    usage: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheCreationTokens?: number },
  ): void {
    const counts = [usage.inputTokens, usage.outputTokens, usage.cacheReadTokens ?? 0, usage.cacheCreationTokens ?? 0];
    this.#apply((m) =>
      TOKEN_KINDS.forEach((kind, i) => {
        const n = counts[i] ?? 0;
        if (n > 0) m.tokens.labels(kind, model, agentType).inc(n);
      }),
    );
  }
}

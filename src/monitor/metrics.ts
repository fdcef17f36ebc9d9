import { type AnyEvent, type EventDataMap, type EventType, internEventType } from '../events/index.ts';
import type { ALERT_FIGURES, AlertScope } from '../workflow/index.ts';
import {
  addSpend,
  bump,
  emptyFigures,
  type Figures,
  type ModelFigures,
  noSpend,
  observe,
  type Spend,
  spendDifference,
} from './figures.ts';
import { priceUsage } from './pricing.ts';

/**
 * Metrics as a pure projection of a session's events, like the workflow state: the same
 * events always give the same figures, a JSON snapshot plus the later events equals a full
 * replay, and the live monitor, `sessions show` and `stats` all run this one reducer.
 *
 * Spending is counted twice over, on purpose: live, from each model response (`agent.usage`,
 * priced at once, so budgets and alerts see it within one model call), and exactly, from the
 * attempt's per-model usage when it ends. At the end of an attempt the live sum is replaced
 * by the exact one (the difference is added to every scope), so nothing is counted twice.
 */

/** A running or finished agent. */
export interface AgentMetrics extends Figures {
  readonly agentId: string;
  readonly agentType: string;
  readonly nodeId?: string;
  readonly workflowId?: string;
  /** The model of its latest response. */
  model?: string;
  state: string;
  /** Holding a process slot (not waiting, not ended). */
  active: boolean;
  readonly spawnedAt: string;
  endedAt?: string;
  outcome?: 'completed' | 'failed' | 'interrupted';
  /** Attempts ended so far. */
  attempts: number;
  /** Context of its latest own request (input + cache tokens). */
  contextTokens: number;
  /** Largest resident memory sampled of its process, in bytes. */
  peakRssBytes: number;
  /** What the attempt in progress has spent so far, from its responses. */
  live: Spend & { responses: number };
}

/** A node of a workflow, once started. */
export interface NodeMetrics extends Figures {
  readonly nodeId: string;
  status: string;
  /** Attempts started (interrupted ones included). */
  nodeAttempts: number;
  /** Failed attempts that were retried. */
  nodeRetries: number;
  /** Attempts interrupted by a pause or a dying process. */
  nodeInterruptions: number;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
}

/** One workflow run. */
export interface WorkflowMetrics extends Figures {
  readonly workflowId: string;
  readonly name: string;
  status: string;
  readonly startedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** Nodes completed. */
  stepsCompleted: number;
  failedNodes: number;
  readonly nodes: Record<string, NodeMetrics>;
}

/** Session-wide figures beyond the common ones. */
export interface SessionFigures extends Figures {
  /** Nodes completed, over every workflow. */
  stepsCompleted: number;
  /** Answers given by people (`user.input`). */
  humanInterventions: number;
  /** Agents holding a process slot now, and the most at once. */
  activeAgents: number;
  peakConcurrency: number;
  /** Largest total resident memory of the agent processes sampled at one moment, in bytes. */
  peakRssBytes: number;
  /** Largest single agent process sampled, in bytes. */
  peakProcessRssBytes: number;
}

/** An alert raised and not yet cleared. */
export interface ActiveAlert {
  readonly rule: string;
  readonly severity: string;
  readonly message: string;
  readonly value?: number;
  readonly threshold?: number;
  readonly scope?: string;
  readonly scopeId?: string;
  readonly raisedAt: string;
}

/** A budget that stopped spending. */
export type ExhaustedBudget = EventDataMap['budget.exhausted'] & { readonly at: string };

/** Every figure of one session. */
export interface MetricsState {
  readonly sessionId: string;
  lastSeq: number;
  name?: string;
  firstAt?: string;
  lastAt?: string;
  readonly session: SessionFigures;
  readonly workflows: Record<string, WorkflowMetrics>;
  readonly agents: Record<string, AgentMetrics>;
  /** Figures of all agents of a type (budgets per agent type, `stats --by agent-type`). */
  readonly agentTypes: Record<string, Figures>;
  /** Exact usage per model, from the attempts that ended. */
  readonly models: Record<string, ModelFigures>;
  /** Alerts raised and not cleared, by `rule|scopeId`. */
  readonly activeAlerts: Record<string, ActiveAlert>;
  alertsRaised: number;
  readonly budgets: ExhaustedBudget[];
}

/** The metrics of a session with no events. */
export function emptyMetrics(sessionId: string): MetricsState {
  return {
    sessionId,
    lastSeq: 0,
    session: {
      ...emptyFigures(),
      stepsCompleted: 0,
      humanInterventions: 0,
      activeAgents: 0,
      peakConcurrency: 0,
      peakRssBytes: 0,
      peakProcessRssBytes: 0,
    },
    workflows: {},
    agents: {},
    agentTypes: {},
    models: {},
    activeAlerts: {},
    alertsRaised: 0,
    budgets: [],
  };
}

/** The key of an alert in {@link MetricsState.activeAlerts}. */
export function alertKey(rule: string, scopeId: string | undefined): string {
  return `${rule}|${scopeId ?? ''}`;
}

const INTERRUPTED = new Set(['AGENT_INTERRUPTED', 'AGENT_SHUTDOWN']);

/** An event's type and payload, narrowed together like `AnyEvent`. */
export type EventView = { [K in EventType]: { readonly type: K; readonly data: EventDataMap[K] } }[EventType];

/**
 * The event with its type interned (see `internEventType`): a switch over it compares
 * pointers instead of characters, which is most of the cost of a reducer step otherwise.
 * Undefined for a type outside the catalog.
 */
export function viewOf(event: AnyEvent): EventView | undefined {
  // The monitor looks at each event three times in a row (metrics, alerts, Prometheus): the
  // last view is kept so that it is built once.
  if (event === lastEvent) return lastView;
  const type = internEventType(event.type);
  lastEvent = event;
  lastView = type === undefined ? undefined : ({ type, data: event.data } as EventView);
  return lastView;
}

let lastEvent: AnyEvent | undefined;
let lastView: EventView | undefined;
const ACTIVE_STATES = new Set(['initializing', 'thinking', 'using_tools', 'responding']);

/**
 * Applies one committed event to a session's metrics, in place, and returns the state.
 * Deterministic and free of I/O: times come from the events themselves.
 */
export function applyMetricsEvent(state: MetricsState, event: AnyEvent): MetricsState {
  if (event.seq > state.lastSeq) state.lastSeq = event.seq;
  state.firstAt ??= event.ts;
  state.lastAt = event.ts;
  const view = viewOf(event);
  if (view === undefined) return state;
  switch (view.type) {
    case 'session.created':
      if (view.data.name !== undefined) state.name = view.data.name;
      break;
    case 'workflow.started':
      state.workflows[view.data.workflowId] = {
        ...emptyFigures(),
        workflowId: view.data.workflowId,
        name: view.data.name,
        status: 'running',
        startedAt: event.ts,
        stepsCompleted: 0,
        failedNodes: 0,
        nodes: {},
      };
      break;
    case 'workflow.paused':
    case 'workflow.resumed': {
      const wf = state.workflows[view.data.workflowId];
      if (wf && wf.endedAt === undefined) wf.status = view.type === 'workflow.paused' ? 'paused' : 'running';
      break;
    }
    case 'workflow.completed': {
      const wf = state.workflows[view.data.workflowId];
      if (!wf) break;
      wf.status = view.data.status;
      wf.endedAt = event.ts;
      wf.durationMs = elapsed(wf.startedAt, event.ts);
      break;
    }
    case 'node.started': {
      const node = nodeOf(state, view.data.workflowId, view.data.nodeId);
      if (!node) break;
      node.status = 'running';
      node.nodeAttempts = Math.max(node.nodeAttempts, view.data.attempt);
      node.startedAt ??= event.ts;
      break;
    }
    case 'node.completed':
    case 'node.skipped':
    case 'node.cancelled': {
      const node = nodeOf(state, view.data.workflowId, view.data.nodeId);
      if (!node) break;
      node.status = view.type.slice('node.'.length);
      endNode(node, event.ts);
      if (view.type === 'node.completed') {
        state.session.stepsCompleted++;
        const wf = state.workflows[view.data.workflowId];
        if (wf) wf.stepsCompleted++;
      }
      break;
    }
    case 'node.failed': {
      const node = nodeOf(state, view.data.workflowId, view.data.nodeId);
      if (!node) break;
      if (view.data.willRetry) {
        node.nodeRetries++;
        node.status = 'retry_wait';
      } else {
        node.status = 'failed';
        endNode(node, event.ts);
        const wf = state.workflows[view.data.workflowId];
        if (wf) wf.failedNodes++;
      }
      break;
    }
    case 'node.interrupted': {
      const node = nodeOf(state, view.data.workflowId, view.data.nodeId);
      if (node) {
        node.nodeInterruptions++;
        node.status = 'retry_wait';
      }
      break;
    }
    case 'user.input':
      state.session.humanInterventions++;
      break;
    case 'agent.spawned':
      onSpawned(state, view.data, event.correlationId, event.ts);
      break;
    case 'agent.state_changed': {
      const agent = state.agents[view.data.agentId];
      if (!agent) break;
      agent.state = view.data.to;
      const active = ACTIVE_STATES.has(view.data.to);
      if (active !== agent.active) {
        agent.active = active;
        const session = state.session;
        session.activeAgents += active ? 1 : -1;
        if (session.activeAgents > session.peakConcurrency) session.peakConcurrency = session.activeAgents;
      }
      break;
    }
    case 'agent.usage':
      onUsage(state, view.data);
      break;
    case 'agent.tool_use':
      for (const figures of scopesOf(state, view.data.agentId)) {
        figures.toolCalls++;
        bump(figures.toolCallsByTool, view.data.tool);
      }
      break;
    case 'agent.tool_result':
      if (view.data.isError) for (const figures of scopesOf(state, view.data.agentId)) figures.toolErrors++;
      break;
    case 'agent.retry':
      for (const figures of scopesOf(state, view.data.agentId)) figures.retries++;
      break;
    case 'agent.completed':
    case 'agent.failed':
      onAttemptEnd(state, view, event.ts);
      break;
    case 'agent.resources':
      onResources(state, view.data);
      break;
    case 'system.alert': {
      const scopeId = view.data.scopeId;
      const key = alertKey(view.data.rule, scopeId);
      if (view.data.state === 'cleared') {
        delete state.activeAlerts[key];
      } else if (!state.activeAlerts[key]) {
        const scope = view.data.scope;
        state.activeAlerts[key] = {
          rule: view.data.rule,
          severity: view.data.severity,
          message: view.data.message,
          ...(view.data.value !== undefined && { value: view.data.value }),
          ...(view.data.threshold !== undefined && { threshold: view.data.threshold }),
          ...(scope !== undefined && { scope }),
          ...(scopeId !== undefined && { scopeId }),
          raisedAt: event.ts,
        };
        state.alertsRaised++;
      }
      break;
    }
    case 'budget.exhausted':
      if (!state.budgets.some((b) => b.scope === view.data.scope && b.key === view.data.key)) {
        state.budgets.push({ ...view.data, at: event.ts });
      }
      break;
    default:
      break;
  }
  return state;
}

/** Builds a session's metrics from its events (a full replay). */
export function replayMetrics(sessionId: string, events: Iterable<AnyEvent>): MetricsState {
  const state = emptyMetrics(sessionId);
  for (const event of events) applyMetricsEvent(state, event);
  return state;
}

/**
 * The figures an agent's activity counts towards, most specific first: the agent, its node,
 * its workflow, its agent type, the session. Empty for an agent the log never spawned.
 */
export function scopesOf(state: MetricsState, agentId: string): readonly Figures[] {
  const agent = state.agents[agentId];
  if (!agent) return NO_SCOPES;
  const cached = SCOPES.get(agent);
  if (cached) return cached;
  const out: Figures[] = [agent];
  const wf = agent.workflowId === undefined ? undefined : state.workflows[agent.workflowId];
  const node = agent.nodeId === undefined ? undefined : wf?.nodes[agent.nodeId];
  if (node) out.push(node);
  if (wf) out.push(wf);
  const type = state.agentTypes[agent.agentType];
  if (type) out.push(type);
  out.push(state.session);
  // An agent's scopes never change once they all exist (they are created at its spawn), so
  // they are found once per agent object, not once per event. Kept beside the state, not in
  // it: a state restored from JSON has new objects and finds them again.
  if ((agent.workflowId === undefined || wf) && (agent.nodeId === undefined || node) && type) SCOPES.set(agent, out);
  return out;
}

const NO_SCOPES: readonly Figures[] = Object.freeze([]);
const SCOPES = new WeakMap<AgentMetrics, readonly Figures[]>();

function onSpawned(
  state: MetricsState,
  data: EventDataMap['agent.spawned'],
  correlationId: string | null,
  ts: string,
): void {
  // Agents recorded before `workflowId` was part of the event carry it as correlation id.
  const workflowId =
    data.workflowId ?? (correlationId !== null && state.workflows[correlationId] ? correlationId : undefined);
  state.agents[data.agentId] = {
    ...emptyFigures(),
    agentId: data.agentId,
    agentType: data.agentType,
    ...(data.nodeId !== undefined && { nodeId: data.nodeId }),
    ...(workflowId !== undefined && { workflowId }),
    ...(data.model !== undefined && { model: data.model }),
    state: 'waiting',
    active: false,
    spawnedAt: ts,
    attempts: 0,
    contextTokens: 0,
    peakRssBytes: 0,
    live: { ...noSpend(), responses: 0 },
  };
  if (workflowId !== undefined && data.nodeId !== undefined) nodeOf(state, workflowId, data.nodeId);
  state.agentTypes[data.agentType] ??= emptyFigures();
  for (const figures of scopesOf(state, data.agentId)) figures.agents++;
}

function onUsage(state: MetricsState, data: EventDataMap['agent.usage']): void {
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const tokens = {
    inputTokens: data.inputTokens,
    outputTokens: data.outputTokens ?? 0,
    cacheReadTokens: data.cacheReadTokens ?? 0,
    cacheCreationTokens: data.cacheCreationTokens ?? 0,
  };
  const price = priceUsage(data.model ?? agent.model, tokens);
  const spend: Spend = { ...tokens, costUsd: price.costUsd, unpricedCostUsd: price.priced ? 0 : price.costUsd };
  addSpend(agent.live, spend);
  agent.live.responses++;
  const context = tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheCreationTokens;
  if (data.subagentId === undefined) {
    agent.contextTokens = context;
    if (data.model !== undefined) agent.model = data.model;
  }
  for (const figures of scopesOf(state, data.agentId)) {
    addSpend(figures, spend);
    figures.turns++;
    if (context > figures.maxContextTokens) figures.maxContextTokens = context;
    if (data.ttftMs !== undefined) observe(figures.ttft, data.ttftMs);
    if (data.durationMs !== undefined) observe(figures.turnTime, data.durationMs);
  }
}

function onAttemptEnd(
  state: MetricsState,
  event: EventView & { type: 'agent.completed' | 'agent.failed' },
  ts: string,
): void {
  const data = event.data;
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const scopes = scopesOf(state, data.agentId);
  const exact = attemptSpend(data, agent);
  const correction = spendDifference(exact, agent.live);
  const turns = agent.live.responses === 0 ? (data.turns ?? 0) : 0;
  agent.live = { ...noSpend(), responses: 0 };
  agent.attempts++;
  for (const [model, usage] of Object.entries(data.modelUsage ?? {})) {
    const priced = priceUsage(model, usage);
    let figures = state.models[model];
    if (!figures) {
      figures = {
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
        costUsd: 0,
        sdkCostUsd: 0,
      };
      state.models[model] = figures;
    }
    figures.inputTokens += usage.inputTokens;
    figures.outputTokens += usage.outputTokens;
    figures.cacheReadTokens += usage.cacheReadTokens;
    figures.cacheCreationTokens += usage.cacheCreationTokens;
    figures.costUsd += priced.costUsd;
    figures.sdkCostUsd += usage.costUsd ?? 0;
  }
  const failed = event.type === 'agent.failed' ? event.data.error.code : undefined;
  const interrupted = failed !== undefined && INTERRUPTED.has(failed);
  const final = event.type === 'agent.completed' || event.data.willRetry !== true;
  const took = final ? elapsed(agent.spawnedAt, ts) : undefined;
  for (const figures of scopes) {
    addSpend(figures, correction);
    figures.sdkCostUsd += data.costUsd ?? 0;
    figures.turns += turns;
    if (interrupted) figures.interruptions++;
    else if (failed !== undefined) {
      figures.errors++;
      bump(figures.errorsByKind, failed);
    }
    if (took !== undefined) observe(figures.agentTime, took);
  }
  if (final) {
    agent.endedAt = ts;
    agent.outcome = failed === undefined ? 'completed' : interrupted ? 'interrupted' : 'failed';
  }
}

/**
 * The exact spend of an attempt: its per-model usage priced; without it (older events, or an
 * attempt that died before any result) the SDK's totals; without those, what its responses
 * reported live.
 */
function attemptSpend(
  data: EventDataMap['agent.completed'] | EventDataMap['agent.failed'],
  agent: AgentMetrics,
): Spend {
  const byModel = data.modelUsage;
  if (byModel && Object.keys(byModel).length > 0) {
    const spend = noSpend();
    for (const [model, usage] of Object.entries(byModel)) {
      const priced = priceUsage(model, usage);
      spend.inputTokens += usage.inputTokens;
      spend.outputTokens += usage.outputTokens;
      spend.cacheReadTokens += usage.cacheReadTokens;
      spend.cacheCreationTokens += usage.cacheCreationTokens;
      spend.costUsd += priced.costUsd;
      if (!priced.priced) spend.unpricedCostUsd += priced.costUsd;
    }
    return spend;
  }
  const live = agent.live;
  const usage = data.usage;
  if (!usage && data.costUsd === undefined) return live;
  return {
    inputTokens: usage?.inputTokens ?? live.inputTokens,
    outputTokens: usage?.outputTokens ?? live.outputTokens,
    cacheReadTokens: usage?.cacheReadTokens ?? live.cacheReadTokens,
    cacheCreationTokens: usage?.cacheCreationTokens ?? live.cacheCreationTokens,
    costUsd: data.costUsd ?? live.costUsd,
    unpricedCostUsd: live.unpricedCostUsd,
  };
}

function onResources(state: MetricsState, data: EventDataMap['agent.resources']): void {
  const session = state.session;
  if (data.rssBytes > session.peakRssBytes) session.peakRssBytes = data.rssBytes;
  if (data.maxRssBytes > session.peakProcessRssBytes) session.peakProcessRssBytes = data.maxRssBytes;
  for (const sample of data.samples ?? []) {
    const agent = sample.agentId === undefined ? undefined : state.agents[sample.agentId];
    if (agent && sample.rssBytes > agent.peakRssBytes) agent.peakRssBytes = sample.rssBytes;
  }
}

function nodeOf(state: MetricsState, workflowId: string, nodeId: string): NodeMetrics | undefined {
  const wf = state.workflows[workflowId];
  if (!wf) return undefined;
  let node = wf.nodes[nodeId];
  if (!node) {
    node = {
      ...emptyFigures(),
      nodeId,
      status: 'pending',
      nodeAttempts: 0,
      nodeRetries: 0,
      nodeInterruptions: 0,
    };
    wf.nodes[nodeId] = node;
  }
  return node;
}

function endNode(node: NodeMetrics, ts: string): void {
  node.endedAt = ts;
  if (node.startedAt !== undefined) node.durationMs = elapsed(node.startedAt, ts);
}

/** Milliseconds between two ISO times, never negative. */
function elapsed(from: string, to: string): number {
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

// Custom alert rules are validated against ALERT_FIGURES (in the workflow definitions) and
// evaluated against these objects: tsc fails here when the two lists drift apart.
type Listed<S extends AlertScope> = (typeof ALERT_FIGURES)[S][number];
type Matches<T, S extends AlertScope, Hidden extends PropertyKey = never> = [Exclude<keyof T, Hidden>] extends [
  Listed<S>,
]
  ? [Listed<S>] extends [Exclude<keyof T, Hidden>]
    ? true
    : false
  : false;
const figuresListed: [
  Matches<SessionFigures, 'session'>,
  Matches<WorkflowMetrics, 'workflow', 'nodes'>,
  Matches<NodeMetrics, 'node'>,
  Matches<AgentMetrics, 'agent', 'live'>,
] = [true, true, true, true];
void figuresListed;

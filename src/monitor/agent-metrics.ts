import type { EventDataMap } from '../events/index.ts';
import {
  addSpend,
  bumpIn,
  emptyFigures,
  type Figures,
  nodeFigures,
  noSpend,
  observeIn,
  type Spend,
  spendDifference,
} from './figures.ts';
import type { AgentMetrics, MetricsState, NodeMetrics } from './metrics-state.ts';
import { priceUsage } from './pricing.ts';
import type { EventView } from './view.ts';

/**
 * The agent part of the metrics reducer: spawns, responses, attempt ends and memory samples,
 * each counted in every scope the agent works in (see {@link scopesOf}).
 */

const INTERRUPTED = new Set(['AGENT_INTERRUPTED', 'AGENT_SHUTDOWN']);

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

export function onSpawned(
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

export function onUsage(state: MetricsState, data: EventDataMap['agent.usage']): void {
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const tokens = {
    inputTokens: data.inputTokens,
    outputTokens: data.outputTokens ?? 0,
    cacheReadTokens: data.cacheReadTokens ?? 0,
    cacheCreationTokens: data.cacheCreationTokens ?? 0,
  };
  const price = priceUsage(data.model ?? agent.model, tokens);
  // Behind the gateway, spend comes from `model.request`; this event still gives context and times.
  const spend: Spend = agent.wire
    ? noSpend()
    : { ...tokens, costUsd: price.costUsd, unpricedCostUsd: price.priced ? 0 : price.costUsd };
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
    if (data.ttftMs !== undefined) observeIn(figures, 'ttft', data.ttftMs);
    if (data.durationMs !== undefined) observeIn(figures, 'turnTime', data.durationMs);
  }
}

/**
 * A model request as the gateway saw it: the spend that counts for an agent behind the gateway.
 * The first one switches the agent to wire figures, taking back what its `agent.usage` events
 * had counted live so far (those came from the same responses).
 */
export function onModelRequest(state: MetricsState, data: EventDataMap['model.request']): void {
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const scopes = scopesOf(state, data.agentId);
  if (!agent.wire) {
    agent.wire = true;
    const counted = spendDifference(noSpend(), agent.live);
    for (const figures of scopes) addSpend(figures, counted);
    agent.live = { ...noSpend(), responses: agent.live.responses };
  }
  const tokens = {
    inputTokens: data.inputTokens,
    outputTokens: data.outputTokens,
    cacheReadTokens: data.cacheReadTokens,
    cacheCreationTokens: data.cacheCreationTokens,
  };
  const price = priceUsage(data.model, { ...tokens, costUsd: data.costUsd });
  const spend: Spend = { ...tokens, costUsd: price.costUsd, unpricedCostUsd: price.priced ? 0 : price.costUsd };
  addSpend(agent.live, spend);
  for (const figures of scopes) addSpend(figures, spend);
  const model = modelFigures(state, data.model);
  model.inputTokens += tokens.inputTokens;
  model.outputTokens += tokens.outputTokens;
  model.cacheReadTokens += tokens.cacheReadTokens;
  model.cacheCreationTokens += tokens.cacheCreationTokens;
  model.costUsd += price.costUsd;
  if (data.subagentId !== undefined) {
    agent.subagents ??= {};
    let sub = agent.subagents[data.subagentId];
    if (!sub) {
      sub = { ...noSpend(), requests: 0 };
      agent.subagents[data.subagentId] = sub;
    }
    addSpend(sub, spend);
    sub.requests++;
  }
}

function modelFigures(state: MetricsState, model: string) {
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
  return figures;
}

export function onAttemptEnd(
  state: MetricsState,
  event: EventView & { type: 'agent.completed' | 'agent.failed' },
  ts: string,
): void {
  const data = event.data;
  const agent = state.agents[data.agentId];
  if (!agent) return;
  const scopes = scopesOf(state, data.agentId);
  // The attempt's process is done with its slot by now (it is released before this event is
  // recorded): the agent stops counting as running here, whatever its next state change says,
  // so that a start recorded right after is never counted beside it.
  if (agent.active) {
    agent.active = false;
    state.session.activeAgents--;
  }
  // Behind the gateway the wire's figures are the exact ones: no correction.
  const exact = agent.wire ? agent.live : attemptSpend(data, agent);
  const correction = spendDifference(exact, agent.live);
  const turns = agent.live.responses === 0 ? (data.turns ?? 0) : 0;
  agent.live = { ...noSpend(), responses: 0 };
  agent.attempts++;
  for (const [model, usage] of Object.entries(data.modelUsage ?? {})) {
    const figures = modelFigures(state, model);
    figures.sdkCostUsd += usage.costUsd ?? 0;
    if (agent.wire) continue;
    const priced = priceUsage(model, usage);
    figures.inputTokens += usage.inputTokens;
    figures.outputTokens += usage.outputTokens;
    figures.cacheReadTokens += usage.cacheReadTokens;
    figures.cacheCreationTokens += usage.cacheCreationTokens;
    figures.costUsd += priced.costUsd;
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
      bumpIn(figures, 'errorsByKind', failed);
    }
    if (took !== undefined) observeIn(figures, 'agentTime', took);
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

export function onResources(state: MetricsState, data: EventDataMap['agent.resources']): void {
  const session = state.session;
  // The warm pool's spares are resident too: the peak is of agents and spares together.
  const spares = data.spareRssBytes ?? 0;
  if (data.rssBytes + spares > session.peakRssBytes) {
    session.peakRssBytes = data.rssBytes + spares;
    session.peakSpareRssBytes = spares;
  }
  if (data.maxRssBytes > session.peakProcessRssBytes) session.peakProcessRssBytes = data.maxRssBytes;
  for (const sample of data.samples ?? []) {
    const agent = sample.agentId === undefined ? undefined : state.agents[sample.agentId];
    if (agent && sample.rssBytes > agent.peakRssBytes) agent.peakRssBytes = sample.rssBytes;
  }
}

export function nodeOf(state: MetricsState, workflowId: string, nodeId: string): NodeMetrics | undefined {
  const wf = state.workflows[workflowId];
  if (!wf) return undefined;
  let node = wf.nodes[nodeId];
  if (!node) {
    node = nodeFigures(nodeId);
    wf.nodes[nodeId] = node;
  }
  return node;
}

/** Milliseconds between two ISO times, never negative. */
export function elapsed(from: string, to: string): number {
  return Math.max(0, timeOf(to) - timeOf(from));
}

// The last two times parsed: events recorded in the same millisecond share one ISO string (the
// engine's recorder reuses it), and a node's end is parsed again for its workflow and session.
let lastText = '';
let lastMs = Number.NaN;
let prevText = '';
let prevMs = Number.NaN;

/** `Date.parse` of an ISO time, remembering the last two (parsing cost more than the rest of a node's figures). */
export function timeOf(iso: string): number {
  if (iso === lastText) return lastMs;
  if (iso === prevText) return prevMs;
  prevText = lastText;
  prevMs = lastMs;
  lastText = iso;
  lastMs = Date.parse(iso);
  return lastMs;
}

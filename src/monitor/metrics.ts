import type { AnyEvent } from '../events/index.ts';
import { nodeOf, onAttemptEnd, onModelRequest, onResources, onSpawned, onUsage, scopesOf } from './agent-metrics.ts';
import { bumpIn, emptyFigures } from './figures.ts';
import { alertKey, emptyMetrics, type MetricsState, type NodeMetrics } from './metrics-state.ts';
import { downtimeWithin, observeOwnership, ownedElapsed } from './ownership.ts';
import { viewOf } from './view.ts';

/**
 * Metrics as a pure projection of a session's events, like the workflow state: the same
 * events always give the same figures, a JSON snapshot plus the later events equals a full
 * replay, and the live monitor, `sessions show` and `stats` all run this one reducer.
 *
 * Spending is counted twice over, on purpose: live, from each model response (`agent.usage`,
 * priced at once, so budgets and alerts see it within one model call), and exactly, from the
 * attempt's per-model usage when it ends. At the end of an attempt the live sum is replaced
 * by the exact one (the difference is added to every scope), so nothing is counted twice.
 * Agents behind the model gateway are counted from `model.request` (usage read off the wire)
 * instead, with Claude Code's own estimate kept as `sdkCostUsd`.
 *
 * A process that dies records nothing more: when the next owner takes the session up, the
 * agents it left unended are ended as interrupted, and the time nobody ran the session is left
 * out of durations (see `ownership.ts`). A fork or an import marks the agents it copied as
 * inherited: their spending was made in the session they came from.
 */

const ACTIVE_STATES = new Set(['initializing', 'thinking', 'using_tools', 'responding']);

/**
 * Applies one committed event to a session's metrics, in place, and returns the state.
 * Deterministic and free of I/O: times come from the events themselves.
 */
export function applyMetricsEvent(state: MetricsState, event: AnyEvent): MetricsState {
  if (event.seq > state.lastSeq) state.lastSeq = event.seq;
  state.firstAt ??= event.ts;
  state.lastAt = event.ts;
  observeOwnership(state, event);
  const view = viewOf(event);
  if (view === undefined) return state;
  switch (view.type) {
    case 'session.created':
      if (view.data.name !== undefined) state.name = view.data.name;
      break;
    case 'session.forked':
    case 'session.imported': {
      const data = view.data;
      const fork = view.type === 'session.forked' ? view.data : undefined;
      state.origins.push({
        kind: fork ? 'fork' : 'import',
        fromSessionId: data.fromSessionId,
        ...(fork && { fromSeq: fork.fromSeq }),
        ...(fork?.fromVersion !== undefined && { fromVersion: fork.fromVersion }),
        ...(view.type === 'session.imported' && { fromStore: view.data.fromStore }),
        seq: event.seq,
        at: event.ts,
      });
      for (const agent of Object.values(state.agents)) agent.inheritedFrom ??= data.fromSessionId;
      break;
    }
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
    case 'node.compensated': {
      const wf = state.workflows[view.data.workflowId];
      if (!wf) break;
      wf.compensations ??= { ok: 0, failed: 0 };
      if (view.data.ok) wf.compensations.ok++;
      else wf.compensations.failed++;
      break;
    }
    case 'workflow.rolling_back': {
      const wf = state.workflows[view.data.workflowId];
      if (wf && wf.endedAt === undefined) wf.status = 'rolling_back';
      break;
    }
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
      wf.durationMs = ownedElapsed(state, wf.startedAt, event.ts);
      const down = downtimeWithin(state.downtime, wf.startedAt, event.ts);
      if (down > 0) wf.downtimeMs = down;
      if (view.data.rolledBack) wf.rolledBack = true;
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
      node.status = ENDED_STATUS[view.type];
      endNode(state, node, event.ts);
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
        endNode(state, node, event.ts);
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
    case 'model.request':
      onModelRequest(state, view.data);
      break;
    case 'model.retry':
      for (const figures of scopesOf(state, view.data.agentId)) figures.retries++;
      break;
    case 'agent.tool_use':
      for (const figures of scopesOf(state, view.data.agentId)) {
        figures.toolCalls++;
        bumpIn(figures, 'toolCallsByTool', view.data.tool);
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

/** A node's status after each of its ending events (a constant string, not a slice made per node). */
const ENDED_STATUS = {
  'node.completed': 'completed',
  'node.skipped': 'skipped',
  'node.cancelled': 'cancelled',
} as const;

/** Ends a node at `ts`: its duration from its first start, less the time nobody ran the session. */
function endNode(state: MetricsState, node: NodeMetrics, ts: string): void {
  node.endedAt = ts;
  if (node.startedAt !== undefined) node.durationMs = ownedElapsed(state, node.startedAt, ts);
}

/** Builds a session's metrics from its events (a full replay). */
export function replayMetrics(sessionId: string, events: Iterable<AnyEvent>): MetricsState {
  const state = emptyMetrics(sessionId);
  for (const event of events) applyMetricsEvent(state, event);
  return state;
}

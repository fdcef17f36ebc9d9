import type { AnyEvent } from '../events/index.ts';
import {
  elapsed,
  endNode,
  nodeOf,
  onAttemptEnd,
  onModelRequest,
  onResources,
  onSpawned,
  onUsage,
  scopesOf,
} from './agent-metrics.ts';
import { bump, emptyFigures } from './figures.ts';
import { alertKey, emptyMetrics, type MetricsState } from './metrics-state.ts';
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
    case 'model.request':
      onModelRequest(state, view.data);
      break;
    case 'model.retry':
      for (const figures of scopesOf(state, view.data.agentId)) figures.retries++;
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

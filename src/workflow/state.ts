import type { AnyEvent } from '../events/index.ts';
import { applyRuleChange, emptySessionRules, type SessionRules } from '../security/index.ts';

/** States of a workflow run. `awaiting_input` is `running` with a question open to a human. */
export type WorkflowStatus =
  | 'running'
  | 'paused'
  | 'awaiting_input'
  | 'rolling_back'
  | 'completed'
  | 'failed'
  | 'cancelled';

/**
 * States of a node. `queued`: its turn came but it waits for a free agent process slot (its
 * timeout has not started). `retry_wait`: an attempt failed or was interrupted and another may
 * follow.
 */
export type NodeStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retry_wait'
  | 'awaiting_input'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled';

/** Statuses after which a node never runs again (in this run). */
export const TERMINAL_NODE_STATUSES: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** Error facts as recorded in events. */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly retryable?: boolean | undefined;
}

/** One node of a run, as the log tells it. */
export interface NodeState {
  readonly id: string;
  status: NodeStatus;
  /** Attempts started so far (interrupted ones included). */
  attempts: number;
  /** Attempts that ended without a result because their process died or a pause stopped them. */
  interruptions: number;
  output?: unknown;
  error?: ErrorInfo;
  agentId?: string;
  cached?: boolean;
  /** Earliest time (epoch ms) of the next attempt, for `retry_wait`. */
  retryAt?: number;
  compensated?: boolean;
  /** A compensation task was started and has not recorded its outcome (resume runs it again). */
  compensating?: boolean;
  /**
   * The durable result of the current attempt's agent (`agent.completed` of an agent of this
   * node while the node runs): a resume completes the node from it instead of paying again.
   */
  agentResult?: { readonly agentId: string; readonly output: unknown };
  /**
   * The durable result of an earlier attempt's agent whose attempt was then interrupted (a stop
   * or a crash while its worktree waited to be merged, e.g. on a merge-conflict question),
   * carried to the attempts after it: the agent executor finishes that attempt's merge instead
   * of paying for the work again.
   */
  earlierResult?: { readonly agentId: string; readonly output: unknown; readonly attempt: number };
  /**
   * While `queued`: the run's agent cap holds it back, it has not been admitted (see
   * `node.queued`); it counts as not started, like a pending node.
   */
  held?: boolean;
  startedAt?: string;
  endedAt?: string;
}

/**
 * True for a node that has not started: pending, or queued behind the run's agent cap (not yet
 * admitted). Such a node may still be skipped or given a new dependency.
 */
export function notStarted(node: Pick<NodeState, 'status' | 'held'> | undefined): boolean {
  return node !== undefined && (node.status === 'pending' || (node.status === 'queued' && node.held === true));
}

/** An open question to a human. */
export interface InputRequest {
  readonly requestId: string;
  readonly kind: 'input' | 'approval';
  readonly prompt: string;
  readonly nodeId?: string | undefined;
  readonly agentId?: string | undefined;
  /** The node attempt that asked. */
  readonly attempt?: number | undefined;
  readonly seq: number;
}

/** A request to steer the session recorded by someone other than its owner, not yet acted on. */
export interface PendingControl {
  readonly controlId: string;
  readonly action: 'cancel' | 'pause' | 'resume' | 'answer' | 'grant' | 'revoke';
  readonly reason?: string | undefined;
  readonly requestId?: string | undefined;
  readonly value?: unknown;
  readonly by?: string | undefined;
  /** For `grant` and `revoke`. */
  readonly agentType?: string | undefined;
  readonly rule?: string | undefined;
}

/** One workflow run, as the log tells it. */
export interface WorkflowState {
  readonly workflowId: string;
  readonly name: string;
  status: WorkflowStatus;
  /** The definition as recorded at start (plain JSON). */
  readonly definition: unknown;
  readonly inputs: Record<string, unknown>;
  readonly file: string | undefined;
  /** Node definitions added at run time, in order (plain JSON). */
  readonly addedNodes: unknown[];
  /** Nodes added at run time by agents, by agent type (their graph policy's `maxPerRun`). */
  addedBy?: Record<string, number>;
  readonly nodes: Record<string, NodeState>;
  /** Open questions by request id. */
  readonly inputRequests: Record<string, InputRequest>;
  /** Answers given, by request id (kept for nodes that resume after a restart). */
  readonly answers: Record<
    string,
    { readonly value: unknown; readonly nodeId: string | undefined; readonly attempt?: number | undefined }
  >;
  paused: boolean;
  cancelRequested: boolean;
  rollingBack: boolean;
  error?: ErrorInfo;
  readonly startedAt: string;
  endedAt?: string;
}

/** Figures of one agent, for monitoring and resume. */
export interface AgentSummary {
  readonly agentId: string;
  readonly agentType: string;
  readonly nodeId: string | undefined;
  readonly workflowId?: string | undefined;
  state: string;
  sdkSessionId?: string;
  /**
   * Copied from the session this one was forked from: its conversation belongs to the
   * original too, so this session only ever branches it (`fork: true`), never continues it.
   */
  inherited?: boolean;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

/** Everything the log says about a session: the projection every view is built from. */
export interface SessionState {
  readonly sessionId: string;
  lastSeq: number;
  name?: string;
  workspace?: string;
  createdAt?: string;
  readonly workflows: Record<string, WorkflowState>;
  readonly memory: Record<string, unknown>;
  readonly agents: Record<string, AgentSummary>;
  /** Control requests from outside the owner not acted on yet, by control id. */
  controls?: Record<string, PendingControl>;
  /** Rules granted and revoked at run time, per agent type (`security.granted` / `security.revoked`). */
  security?: SessionRules;
}

/** The state of a session with no events. */
export function emptySessionState(sessionId: string): SessionState {
  return { sessionId, lastSeq: 0, workflows: {}, memory: {}, agents: {} };
}

/**
 * Applies one committed event to a session's state. Deterministic and free of I/O: replaying
 * the same events always gives the same state, which is what makes snapshots, crash recovery
 * and diffs one mechanism. For speed it updates `state` in place and returns it; callers that
 * need the old state keep a copy (snapshots are JSON copies). What each event type changes is
 * mirrored in sessions/changed-chunks.ts (incremental versions): a change here goes there too.
 */
export function applyEvent(state: SessionState, event: AnyEvent): SessionState {
  // Max, not assignment: the engine applies its own events before the store numbers them.
  state.lastSeq = Math.max(state.lastSeq, event.seq);
  const controlId = (event.data as { controlId?: unknown }).controlId;
  if (typeof controlId === 'string' && event.type !== 'control.requested' && state.controls?.[controlId]) {
    delete state.controls[controlId];
  }
  switch (event.type) {
    case 'control.requested': {
      const { controlId: id, action, reason, requestId, value, by, agentType, rule } = event.data;
      state.controls ??= {};
      state.controls[id] = { controlId: id, action, reason, requestId, value, by, agentType, rule };
      return state;
    }
    case 'security.granted':
    case 'security.revoked':
      state.security ??= emptySessionRules();
      applyRuleChange(state.security, {
        kind: event.type === 'security.granted' ? 'granted' : 'revoked',
        agentType: event.data.agentType,
        rule: event.data.rule,
      });
      return state;
    case 'session.created':
      if (event.data.name !== undefined) state.name = event.data.name;
      if (event.data.workspace !== undefined) state.workspace = event.data.workspace;
      state.createdAt = event.ts;
      break;
    case 'session.forked':
      if (event.data.workspace !== undefined) state.workspace = event.data.workspace;
      for (const agent of Object.values(state.agents)) agent.inherited = true;
      return state;
    case 'session.imported':
      state.workspace = event.data.workspace;
      return state;
    case 'workflow.started': {
      const nodes: Record<string, NodeState> = {};
      for (const id of nodeIdsOf(event.data.definition)) nodes[id] = pendingNode(id);
      state.workflows[event.data.workflowId] = {
        workflowId: event.data.workflowId,
        name: event.data.name,
        status: 'running',
        definition: event.data.definition,
        inputs: event.data.inputs ?? {},
        file: event.data.file,
        addedNodes: [],
        nodes,
        inputRequests: {},
        answers: {},
        paused: false,
        cancelRequested: false,
        rollingBack: false,
        startedAt: event.ts,
      };
      break;
    }
    case 'workflow.modified': {
      const wf = state.workflows[event.data.workflowId];
      if (!wf) break;
      const agentType = event.data.agentType;
      for (const change of event.data.changes) {
        if (change.op !== 'add_nodes' || !Array.isArray(change.nodes)) continue;
        for (const node of change.nodes as Array<{ id: string }>) {
          wf.addedNodes.push(node);
          wf.nodes[node.id] = pendingNode(node.id);
        }
        if (agentType !== undefined) {
          wf.addedBy ??= {};
          wf.addedBy[agentType] = (wf.addedBy[agentType] ?? 0) + change.nodes.length;
        }
      }
      break;
    }
    case 'workflow.paused':
      withWorkflow(state, event.data.workflowId, (wf) => (wf.paused = true));
      break;
    case 'workflow.resumed':
      withWorkflow(state, event.data.workflowId, (wf) => (wf.paused = false));
      break;
    case 'workflow.cancel_requested':
      withWorkflow(state, event.data.workflowId, (wf) => (wf.cancelRequested = true));
      break;
    case 'workflow.rolling_back':
      withWorkflow(state, event.data.workflowId, (wf) => (wf.rollingBack = true));
      break;
    case 'workflow.completed':
      withWorkflow(state, event.data.workflowId, (wf) => {
        wf.status = event.data.status;
        if (event.data.error) wf.error = event.data.error;
        wf.endedAt = event.ts;
      });
      return state;
    case 'node.queued':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        node.status = 'queued';
        if (event.data.held === true) node.held = true;
        else delete node.held;
        delete node.retryAt;
      });
      break;
    case 'node.started':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        const earlier =
          node.error?.code !== 'NODE_INTERRUPTED'
            ? undefined
            : node.agentResult
              ? { ...node.agentResult, attempt: node.attempts }
              : node.earlierResult;
        if (earlier) node.earlierResult = earlier;
        else delete node.earlierResult;
        node.status = 'running';
        delete node.held;
        node.attempts = event.data.attempt;
        if (event.data.agentId !== undefined) node.agentId = event.data.agentId;
        node.startedAt = event.ts;
        delete node.retryAt;
        delete node.agentResult;
      });
      break;
    case 'node.completed':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        node.status = 'completed';
        node.output = event.data.output;
        delete node.earlierResult;
        if (event.data.cached) node.cached = true;
        delete node.error;
        node.endedAt = event.ts;
      });
      break;
    case 'node.failed':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        node.status = event.data.willRetry ? 'retry_wait' : 'failed';
        node.error = event.data.error;
        if (event.data.willRetry) node.retryAt = Date.parse(event.ts) + (event.data.retryInMs ?? 0);
        else node.endedAt = event.ts;
      });
      break;
    case 'node.interrupted':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        // Only an attempt that had started counts: one stopped while queued for a slot did not.
        if (node.status === 'running' || node.status === 'awaiting_input') node.interruptions++;
        node.status = 'retry_wait';
        delete node.held;
        node.error = { code: 'NODE_INTERRUPTED', message: event.data.reason, retryable: true };
        node.retryAt = Date.parse(event.ts);
      });
      break;
    case 'node.skipped':
    case 'node.cancelled':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        node.status = event.type === 'node.skipped' ? 'skipped' : 'cancelled';
        delete node.held;
        node.endedAt = event.ts;
      });
      break;
    case 'node.compensating':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => (node.compensating = true));
      break;
    case 'node.compensated':
      withNode(state, event.data.workflowId, event.data.nodeId, (node) => {
        node.compensated = event.data.ok;
        delete node.compensating;
      });
      break;
    case 'input.requested':
      if (event.data.workflowId) {
        withWorkflow(state, event.data.workflowId, (wf) => {
          wf.inputRequests[event.data.requestId] = {
            requestId: event.data.requestId,
            kind: event.data.kind,
            prompt: event.data.prompt,
            nodeId: event.data.nodeId,
            agentId: event.data.agentId,
            attempt: event.data.attempt,
            seq: event.seq,
          };
          const node = event.data.nodeId ? wf.nodes[event.data.nodeId] : undefined;
          if (node && node.status === 'running') node.status = 'awaiting_input';
        });
      }
      break;
    case 'input.closed': {
      const targets = event.data.workflowId ? [state.workflows[event.data.workflowId]] : Object.values(state.workflows);
      for (const wf of targets) {
        const request = wf?.inputRequests[event.data.requestId];
        if (!wf || !request) continue;
        delete wf.inputRequests[event.data.requestId];
        const node = request.nodeId ? wf.nodes[request.nodeId] : undefined;
        if (node && node.status === 'awaiting_input' && !hasOpenRequest(wf, node.id)) node.status = 'running';
      }
      break;
    }
    case 'user.input':
      for (const wf of Object.values(state.workflows)) {
        const requestId = event.data.requestId;
        if (requestId === undefined || !wf.inputRequests[requestId]) continue;
        const request = wf.inputRequests[requestId];
        delete wf.inputRequests[requestId];
        wf.answers[requestId] = { value: event.data.value, nodeId: request.nodeId, attempt: request.attempt };
        const node = request.nodeId ? wf.nodes[request.nodeId] : undefined;
        if (node && node.status === 'awaiting_input' && !hasOpenRequest(wf, node.id)) node.status = 'running';
      }
      break;
    case 'memory.set':
      setOwn(state.memory, event.data.key, event.data.value);
      return state;
    case 'agent.spawned':
      state.agents[event.data.agentId] = {
        agentId: event.data.agentId,
        agentType: event.data.agentType,
        nodeId: event.data.nodeId,
        workflowId: event.data.workflowId,
        state: 'initializing',
        costUsd: 0,
        inputTokens: 0,
        outputTokens: 0,
      };
      return state;
    case 'agent.progress': {
      // The SDK session id is known from the agent's first message: an agent interrupted
      // before its result can still be resumed with its conversation.
      const agent = state.agents[event.data.agentId];
      if (agent && event.data.kind === 'init' && event.data.sdkSessionId) agent.sdkSessionId = event.data.sdkSessionId;
      return state;
    }
    case 'agent.state_changed': {
      const agent = state.agents[event.data.agentId];
      if (agent) agent.state = event.data.to;
      return state;
    }
    case 'agent.completed':
    case 'agent.failed': {
      const agent = state.agents[event.data.agentId];
      if (!agent) return state;
      agent.costUsd += event.data.costUsd ?? 0;
      agent.inputTokens += event.data.usage?.inputTokens ?? 0;
      agent.outputTokens += event.data.usage?.outputTokens ?? 0;
      if (event.type === 'agent.completed' && event.data.sdkSessionId) agent.sdkSessionId = event.data.sdkSessionId;
      if (event.type === 'agent.completed' && agent.nodeId !== undefined && agent.workflowId !== undefined) {
        // Only while the node runs: a compensation agent of a completed node is not its result.
        const node = state.workflows[agent.workflowId]?.nodes[agent.nodeId];
        if (node && (node.status === 'running' || node.status === 'awaiting_input')) {
          node.agentResult = { agentId: agent.agentId, output: event.data.output };
        }
      }
      return state;
    }
    default:
      return state;
  }
  refreshStatuses(state, event);
  return state;
}

/** Rebuilds a session's state from its events (a full replay). */
export function replay(sessionId: string, events: Iterable<AnyEvent>): SessionState {
  const state = emptySessionState(sessionId);
  for (const event of events) applyEvent(state, event);
  return state;
}

function refreshStatuses(state: SessionState, event: AnyEvent): void {
  // Runs on every event: the common case (an event of one workflow) allocates nothing.
  const workflowId = (event.data as { workflowId?: string }).workflowId;
  if (workflowId) {
    const wf = state.workflows[workflowId];
    if (wf) refreshStatus(wf);
    return;
  }
  for (const wf of Object.values(state.workflows)) refreshStatus(wf);
}

function refreshStatus(wf: WorkflowState): void {
  if (wf.status === 'completed' || wf.status === 'failed' || wf.status === 'cancelled') return;
  wf.status = wf.rollingBack
    ? 'rolling_back'
    : wf.paused
      ? 'paused'
      : hasAnyKey(wf.inputRequests)
        ? 'awaiting_input'
        : 'running';
}

function hasAnyKey(record: object): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}

function hasOpenRequest(wf: WorkflowState, nodeId: string): boolean {
  for (const request of Object.values(wf.inputRequests)) if (request.nodeId === nodeId) return true;
  return false;
}

function withWorkflow(state: SessionState, workflowId: string, change: (wf: WorkflowState) => void): void {
  const wf = state.workflows[workflowId];
  if (wf) change(wf);
}

function withNode(state: SessionState, workflowId: string, nodeId: string, change: (node: NodeState) => void): void {
  const node = state.workflows[workflowId]?.nodes[nodeId];
  if (node) change(node);
}

/** The state of a node nothing has happened to yet: every node starts so. */
export function pendingNode(id: string): NodeState {
  return { id, status: 'pending', attempts: 0, interruptions: 0 };
}

/** Whether a node is still exactly as {@link pendingNode} made it. */
export function isPendingNode(node: NodeState): boolean {
  if (node.status !== 'pending' || node.attempts !== 0 || node.interruptions !== 0) return false;
  for (const key in node)
    if (key !== 'id' && key !== 'status' && key !== 'attempts' && key !== 'interruptions') return false;
  return true;
}

/**
 * The ids of a recorded definition's nodes, in order (an unreadable definition has none). A
 * loop, not `flatMap` with a one-element array per node: that took 1.3-2.7 ms for 10,000 nodes
 * against 0.08-0.13 ms, twice per run started (the engine's state and the version follower's).
 */
export function nodeIdsOf(definition: unknown): string[] {
  const nodes = (definition as { nodes?: unknown } | undefined)?.nodes;
  const ids: string[] = [];
  if (!Array.isArray(nodes)) return ids;
  for (const node of nodes as Array<{ id?: unknown } | undefined>) if (typeof node?.id === 'string') ids.push(node.id);
  return ids;
}

/**
 * `record[key] = value` for a key that comes from outside (an agent's memory key): a key named
 * `__proto__` is stored as a key of its own, where plain assignment would set the prototype.
 */
function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else record[key] = value;
}

import type { EventDataMap } from '../events/index.ts';
import type { ALERT_FIGURES, AlertScope } from '../workflow/index.ts';
import { emptyFigures, type Figures, type ModelFigures, type Spend } from './figures.ts';

// The shape of a session's metrics, built by the reducer in `metrics.ts`: plain JSON.

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
  /**
   * Its requests pass the model gateway (a `model.request` was seen): spend is counted from
   * the wire, and Claude Code's figures at the attempt's end are kept only as `sdkCostUsd`.
   */
  wire?: true;
  /** Spend per subagent (as the gateway attributes requests), from `model.request`. */
  subagents?: Record<string, Spend & { requests: number }>;
  /**
   * Spend of its attempt whose process died before Claude Code reported it (a crash): counted
   * in `costUsd` from what was seen of its responses, absent from `sdkCostUsd`, which only
   * Claude Code's report at the end of an attempt adds to.
   */
  unreportedUsd?: number;
  /**
   * The session that ran this agent, when this session only inherited it: a fork or an import
   * copied its events (see {@link MetricsState.origins}). Its spending was not made here.
   */
  inheritedFrom?: string;
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
  /** It failed and rolled back: its completed nodes' compensations ran, newest first. */
  rolledBack?: true;
  /** Compensations that recorded their outcome, succeeded and failed. */
  compensations?: { ok: number; failed: number };
  /**
   * Time between its start and its end (or the latest event) when no process ran it (after a
   * crash or a stop, until a resume): left out of `durationMs`.
   */
  downtimeMs?: number;
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
  /** Of `peakRssBytes`, the warm pool's spare processes (started ahead, not yet an agent's). */
  peakSpareRssBytes: number;
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

/**
 * Where a session's history came from: a fork or an import that copied another session's
 * events into it. Agents of the copied part are marked `inheritedFrom` (their spending was
 * made there, not here).
 */
export interface SessionOrigin {
  readonly kind: 'fork' | 'import';
  readonly fromSessionId: string;
  /** The sequence number of the original the copy ends at (forks). */
  readonly fromSeq?: number;
  readonly fromVersion?: number;
  /** The store the import came from. */
  readonly fromStore?: string;
  /** The `session.forked` or `session.imported` event. */
  readonly seq: number;
  readonly at: string;
}

/** A span of time (ISO times), `from` before `to`. */
export interface Span {
  readonly from: string;
  to: string;
}

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
  /** Forks and imports its history went through, oldest first. */
  readonly origins: SessionOrigin[];
  /**
   * When no process ran the session, oldest first: from the last event of an owner that stopped
   * or died to the next owner's taking over (a resume, a fork or an import). Durations leave it out.
   */
  readonly downtime: Span[];
  /** The latest time an owner of the session recorded something (requests from outside it left out). */
  lastOwnedAt?: string;
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
      peakSpareRssBytes: 0,
    },
    workflows: {},
    agents: {},
    agentTypes: {},
    models: {},
    activeAlerts: {},
    alertsRaised: 0,
    budgets: [],
    origins: [],
    downtime: [],
  };
}

/** The key of an alert in {@link MetricsState.activeAlerts}. */
export function alertKey(rule: string, scopeId: string | undefined): string {
  return `${rule}|${scopeId ?? ''}`;
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
  Matches<WorkflowMetrics, 'workflow', 'nodes' | 'rolledBack' | 'compensations' | 'downtimeMs'>,
  Matches<NodeMetrics, 'node'>,
  Matches<AgentMetrics, 'agent', 'live' | 'wire' | 'subagents' | 'unreportedUsd' | 'inheritedFrom'>,
] = [true, true, true, true];
void figuresListed;

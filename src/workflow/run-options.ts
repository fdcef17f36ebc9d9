import type { EventLog } from '../log/index.ts';
import type { EngineClock } from './clock.ts';
import type { NodeExecutor, WorkflowPlan } from './plan.ts';
import type { ClassLimits } from './scheduler.ts';
import type { SessionState } from './state.ts';

/** Everything a run needs. */
export interface WorkflowRunOptions<P extends WorkflowPlan = WorkflowPlan> {
  readonly log: EventLog;
  readonly sessionId: string;
  readonly workflowId: string;
  readonly plan: P;
  /** Executors by node kind. */
  readonly executors: ReadonlyMap<string, NodeExecutor>;
  /** The session's state replayed from the log; the run keeps it up to date. */
  readonly state: SessionState;
  readonly workspace: string;
  /** @default the system clock */
  readonly clock?: EngineClock;
  /**
   * Nodes of each class running at once in this run, besides the workflow's own `concurrency`:
   * agent nodes (the orchestrator passes `ORCHESTRATOR_MAX_AGENTS`) and all others
   * (`ORCHESTRATOR_MAX_NODES`). @default no cap besides the workflow's
   */
  readonly classLimits?: ClassLimits;
  /**
   * Node starts after which the run lets the event loop turn once (see TurnPacer), so a run of
   * nodes that settle in microtasks commits its events as it goes and leaves room for timers,
   * the API and subscribers. The orchestrator bounds turns by time instead (`turnBudgetMs`).
   * @default no limit (one turn, as before)
   */
  readonly startsPerTurn?: number;
  /**
   * Milliseconds a turn may spend starting nodes before the run lets the event loop turn (see
   * TurnPacer): the same pause as `startsPerTurn`, bounded by time rather than count, so the
   * loop is never held much longer than this whatever a node costs (a node that runs on, such as
   * a long synchronous function, still holds it). The orchestrator sets 25 ms (see the launcher).
   * @default no limit
   */
  readonly turnBudgetMs?: number;
  /**
   * Test hook: called at every await point of a node's start path (and of executors, through
   * `checkpoint`) with the point's name, before the run checks whether the node was stopped.
   */
  readonly probe?: ((point: string, nodeId: string) => void) | undefined;
}

/**
 * The phases of a run in this process, one at a time:
 * `idle` (built, not started) → `running` → `finishing` (recording the end, rolling back) →
 * `done`; or → `suspended` from `running` or `finishing` (this process let go; another one
 * carries on from the log). A paused rollback returns to `running` until resumed.
 */
export type RunPhase = 'idle' | 'running' | 'finishing' | 'suspended' | 'done';

import type { NodeStatus } from './state.ts';

/**
 * Which agent nodes will need an agent process next: the decision behind the graph-aware warm
 * start. Pure over plain data; the orchestrator feeds it the plan and the run's live state
 * and starts spare processes for what it returns (see `AgentRuntime.warmStart`).
 *
 * A node is upcoming when:
 * - it is `queued`: its turn came and it waits for a process slot; or
 * - it is `pending` with every dependency completed but held back by the workflow's or its
 *   group's concurrency limit (the caller says which, `held`): it starts when a node ends; or
 * - it is `pending`, every dependency is `running` or `completed`, and at least one is still
 *   `running`: it becomes ready the moment they end. A running dependency whose agent is
 *   still starting up (Claude Code has not reported `init`) does not count yet: on a small
 *   machine spares starting beside it slow its start down, on the critical path (measured on
 *   2 cores: a planner took 6.4 s instead of 3.9 s with 8 spares starting beside its own
 *   cold start).
 *
 * Deliberately not upcoming:
 * - a pending node whose dependencies are all done (or that has none) and that no limit holds
 *   back: the engine starts it in this very step, and a spare started now would lose the race
 *   to its own cold start and then stay unused;
 * - a node two levels down (a dependency not even started): its spare would sit parked for a
 *   whole level, ~230 MB doing nothing, and may never be used when a condition skips it;
 * - a dependency that is queued, waiting for a human, or waiting for a retry: its end is not
 *   in sight;
 * - a node that carries on another node's conversation (`session.from`): the SDK cannot
 *   resume a session into a pre-started process;
 * - anything but an agent node.
 *
 * Conditions and trigger rules are not evaluated ahead (they read outputs not there yet): a
 * node skipped by its condition leaves its spare unused, which the run's end closes.
 */

/** What the decision reads of one node of the plan. */
export interface UpcomingCandidate {
  readonly id: string;
  /** `agent`, `human`, `approval`, `function`, or a plugin's kind. */
  readonly kind: string;
  /** The agent type, for agent nodes. */
  readonly agent: string | undefined;
  readonly dependsOn: readonly string[];
  /** Its parallel group, whose own concurrency limit may hold it back. */
  readonly group?: string | undefined;
  /** The node carries on (or forks) another node's conversation. */
  readonly resumes: boolean;
}

/** An agent node that will need a process soon. */
export interface UpcomingNode {
  readonly id: string;
  readonly agent: string;
  /**
   * `queued`: waits only for a process slot; `held`: waits for a concurrency limit; `next`:
   * waits for running dependencies. {@link upcomingNodes} lists them in this order, the order
   * in which they will start.
   */
  readonly stage: 'queued' | 'held' | 'next';
}

/** The status of a node in the run, or undefined when the run has not recorded it yet. */
export type StatusOf = (nodeId: string) => NodeStatus | undefined;

/** Whether a running node is still starting up (its agent's process not ready yet). */
export type StartingUp = (nodeId: string) => boolean;

/** Whether a node whose dependencies are all done is held back by a concurrency limit now. */
export type Held = (node: UpcomingCandidate) => boolean;

const never = () => false;

/** Whether one node is upcoming, and at which stage (see the module comment). */
export function upcomingStage(
  node: UpcomingCandidate,
  statusOf: StatusOf,
  startingUp: StartingUp = never,
  held: Held = never,
): UpcomingNode['stage'] | undefined {
  if (node.kind !== 'agent' || node.agent === undefined || node.resumes) return undefined;
  const status = statusOf(node.id) ?? 'pending';
  if (status === 'queued') return 'queued';
  if (status !== 'pending') return undefined;
  let running = false;
  for (const dependency of node.dependsOn) {
    const depStatus = statusOf(dependency);
    if (depStatus === 'running') {
      if (startingUp(dependency)) return undefined;
      running = true;
    } else if (depStatus !== 'completed') return undefined;
  }
  if (running) return 'next';
  return held(node) ? 'held' : undefined;
}

/**
 * The upcoming agent nodes of a plan: queued ones first, then held ones, then the next, each
 * in plan order. One pass over the nodes and their dependency lists: O(V + E).
 */
export function upcomingNodes(
  nodes: Iterable<UpcomingCandidate>,
  statusOf: StatusOf,
  startingUp: StartingUp = never,
  held: Held = never,
): UpcomingNode[] {
  const byStage = { queued: [] as UpcomingNode[], held: [] as UpcomingNode[], next: [] as UpcomingNode[] };
  for (const node of nodes) {
    const stage = upcomingStage(node, statusOf, startingUp, held);
    if (stage === undefined || node.agent === undefined) continue;
    byStage[stage].push({ id: node.id, agent: node.agent, stage });
  }
  return [...byStage.queued, ...byStage.held, ...byStage.next];
}

import type { OrchestratorError } from '../errors/index.ts';
import type { AttemptFailure } from './attempt.ts';
import type { AgentTask } from './runtime-options.ts';
import type { AgentSpec } from './spec.ts';

/**
 * The seam between the agent runtime and whatever decides on spending (the monitor's
 * budgets): asked before an agent is spawned and before each attempt starts a process.
 */

/** Who wants to spend: what a {@link SpendGate} decides on. */
export interface SpendRequest {
  readonly sessionId: string;
  readonly workflowId: string | undefined;
  readonly agentType: string;
  readonly agentId: string;
  readonly nodeId: string | undefined;
}

/** A gate's answer: go, with at most `maxBudgetUsd` for this attempt; or the typed refusal. */
export type SpendVerdict =
  | { readonly ok: true; readonly maxBudgetUsd?: number | undefined }
  | { readonly ok: false; readonly error: OrchestratorError };

/**
 * Decides whether an agent may start spending (budgets). Synchronous: it is asked on the
 * spawn path, right before a process starts, and must answer from what it already knows.
 */
export interface SpendGate {
  admit(request: SpendRequest): SpendVerdict;
}

/** A running agent, as `AgentRuntime.running()` lists it (and its model credentials are minted for). */
export interface RunningAgent {
  readonly agentId: string;
  readonly sessionId: string;
  readonly workflowId: string | undefined;
  readonly agentType: string;
  readonly nodeId: string | undefined;
  /** The budget of the node it works for (see {@link AgentTask.nodeBudget}). */
  readonly nodeBudget?: NodeBudget | undefined;
  /** Its model requests' place in the gateway's queue (see {@link AgentTask.priority}). */
  readonly priority?: number | undefined;
}

/** Hard limits of one node's model spend, over its attempts; each undefined for none. */
export interface NodeBudget {
  readonly usd?: number | undefined;
  readonly tokens?: number | undefined;
}

/** An attempt refused before it started: no process, nothing spent. */
export function refusal(error: OrchestratorError): AttemptFailure {
  return { ok: false, error, usage: undefined, costUsd: undefined, sdkSessionId: undefined };
}

/** What a gate is told about an agent. */
export function agentOf(agentId: string, task: AgentTask): RunningAgent {
  return {
    agentId,
    sessionId: task.sessionId,
    workflowId: task.workflowId,
    agentType: task.spec.name,
    nodeId: task.nodeId,
    ...(task.nodeBudget && { nodeBudget: task.nodeBudget }),
    ...(task.priority !== undefined && { priority: task.priority }),
  };
}

/** The spec with `maxBudgetUsd` lowered to what a budget leaves, when that is lower. */
export function capBudget(spec: AgentSpec, remaining: number | undefined): AgentSpec {
  if (remaining === undefined || (spec.maxBudgetUsd !== undefined && spec.maxBudgetUsd <= remaining)) return spec;
  return { ...spec, maxBudgetUsd: remaining };
}

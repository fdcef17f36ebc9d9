import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import { retryDelayMs } from './definition/index.ts';
import type { NodeContext, NodeOutcome, PlanNode, WorkflowPlan } from './plan.ts';
import { evaluateTrigger } from './scheduler.ts';
import type { NodeState, PendingControl, WorkflowState } from './state.ts';

/**
 * The engine's decisions, as pure functions over plain data: what a ready node, an outcome, a
 * failure, a restart or the end of a run leads to. The loop (`engine.ts`) records what they
 * return and acts on it; nothing here reads a clock, starts a timer or writes an event, so each
 * rule is tested directly (test/workflow/engine/decide.test.ts).
 */

/** Interruptions by crash or pause a node may suffer before it fails; they do not use retries. */
export const MAX_INTERRUPTIONS = 3;

/** How a node run was stopped from outside, carried as its abort reason. */
export type StopReason = 'cancel' | 'pause' | 'fail_fast' | 'timeout' | 'suspend';

/** What becomes of a node whose dependencies have settled. */
export type ReadyDecision =
  | { readonly kind: 'run' }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'cancel'; readonly reason: string }
  | { readonly kind: 'fail'; readonly error: OrchestratorError };

/**
 * Decides a ready node: cancelled with its workflow, skipped by its trigger rule, by fail-fast
 * or by a false condition, failed when its condition cannot be evaluated, else run.
 */
export function decideReady(
  node: PlanNode,
  wf: WorkflowState,
  failingFast: boolean,
  context: NodeContext,
): ReadyDecision {
  // Queueing it would keep a cancelled run from ever finishing (nothing starts any more).
  if (wf.cancelRequested) return { kind: 'cancel', reason: 'the workflow was cancelled' };
  const verdict = evaluateTrigger(
    node.trigger,
    node.dependsOn.map((dep) => ({ id: dep, status: wf.nodes[dep]?.status ?? 'pending' })),
  );
  if (!verdict.run) return { kind: 'skip', reason: verdict.reason };
  if (failingFast) return { kind: 'skip', reason: 'the workflow is failing (fail_fast)' };
  if (node.evaluateCondition) {
    try {
      if (!node.evaluateCondition(context)) return { kind: 'skip', reason: 'condition is false' };
    } catch (error) {
      const message = `condition of "${node.id}": ${toOrchestratorError(error).message}`;
      return { kind: 'fail', error: new OrchestratorError('CONDITION_FAILED', message) };
    }
  }
  return { kind: 'run' };
}

/** What an attempt's end leads to. */
export type OutcomeDecision =
  | { readonly kind: 'complete'; readonly output: unknown; readonly cached?: boolean; readonly cacheKey?: string }
  | { readonly kind: 'cancel'; readonly reason: string }
  /** A question to a human outlives a suspended process: leave the node as a killed process would. */
  | { readonly kind: 'leave' }
  | { readonly kind: 'interrupt'; readonly reason: string }
  | { readonly kind: 'fail'; readonly error: OrchestratorError };

/** Decides what an attempt's outcome (and the stop that ended it, if any) means for its node. */
export function decideOutcome(
  node: PlanNode | undefined,
  state: NodeState | undefined,
  outcome: NodeOutcome,
  stop: StopReason | undefined,
): OutcomeDecision {
  if (stop === 'cancel') return { kind: 'cancel', reason: 'the workflow was cancelled' };
  if (stop === 'fail_fast') return { kind: 'cancel', reason: 'the workflow is failing (fail_fast)' };
  if (outcome.ok) {
    return {
      kind: 'complete',
      output: outcome.output,
      ...(outcome.cached && { cached: true, cacheKey: outcome.cacheKey }),
    };
  }
  if (stop === 'suspend' && state?.status === 'awaiting_input' && node?.kind !== 'agent') return { kind: 'leave' };
  if (stop === 'pause') return { kind: 'interrupt', reason: 'interrupted by pause' };
  if (stop === 'suspend') return { kind: 'interrupt', reason: 'the orchestrator stopped' };
  if (stop === 'timeout') {
    const message = `node "${node?.id}" did not finish within ${node?.timeoutMs} ms`;
    return { kind: 'fail', error: new OrchestratorError('NODE_TIMEOUT', message) };
  }
  return { kind: 'fail', error: outcome.error };
}

/**
 * Decides the outcome of finishing, after a restart, an attempt whose agent's result was
 * durable (`NodeExecutor.recover`): as {@link decideOutcome}, except that a recovery finding
 * the attempt's work lost (`NODE_INTERRUPTED`, e.g. its worktree is gone) is the crash's
 * interruption, so the work runs again without using one of the node's attempts.
 */
export function decideRecovered(
  node: PlanNode | undefined,
  state: NodeState | undefined,
  outcome: NodeOutcome,
  stop: StopReason | undefined,
): OutcomeDecision {
  if (stop === undefined && !outcome.ok && outcome.error.code === 'NODE_INTERRUPTED') {
    return { kind: 'interrupt', reason: outcome.error.message };
  }
  return decideOutcome(node, state, outcome, stop);
}

/** Whether a failed attempt is tried again, and after how long. */
export interface FailureDecision {
  readonly willRetry: boolean;
  readonly delayMs: number;
}

/**
 * Decides a failure: retried when the policy's `on` list (or, without one, the error itself)
 * says it may be, attempts are left and the workflow is not cancelled. Interrupted attempts
 * (crash, pause) are not the node's failures and do not use up attempts.
 */
export function decideFailure(
  node: PlanNode | undefined,
  state: NodeState | undefined,
  attempt: number,
  error: OrchestratorError,
  cancelRequested: boolean,
): FailureDecision {
  const policy = node?.retry;
  const retryable = policy?.on
    ? policy.on.includes(error.code) || (policy.on.includes('transient') && error.retryable)
    : error.retryable;
  const used = attempt - (state?.interruptions ?? 0);
  const willRetry = retryable && used < (policy?.attempts ?? 1) && !cancelRequested;
  // The backoff follows the node's own failures: a crash or pause before it adds no wait.
  return { willRetry, delayMs: willRetry && policy ? retryDelayMs(policy, Math.max(1, used)) : 0 };
}

/** True when a node was interrupted so often that it fails instead of running again. */
export function interruptedTooOften(state: NodeState | undefined): boolean {
  return state !== undefined && state.interruptions > MAX_INTERRUPTIONS;
}

/** What a restarted run does with a node the log shows as in progress. */
export type RecoveryDecision =
  /** A question to a human is still open (or answered): await it again, no interruption counted. */
  | { readonly kind: 'await_human' }
  /** Its agent's result is durable: complete the node from it, without a new model call. */
  | { readonly kind: 'complete_from_agent'; readonly agentId: string; readonly output: unknown }
  /** Its attempt belonged to a process that is gone: record it interrupted. */
  | { readonly kind: 'interrupt'; readonly reason: string };

/**
 * Decides, for a node in progress when its process ended (`queued`, `running`,
 * `awaiting_input`), what a new owner does: nothing is paid twice, no question asked twice.
 */
export function decideRecovery(node: PlanNode | undefined, state: NodeState, wf: WorkflowState): RecoveryDecision {
  if (node?.kind !== 'agent') {
    if (state.status === 'awaiting_input') return { kind: 'await_human' };
    // Answered just before the process ended: the same attempt takes the answer, asks nothing.
    if (state.status === 'running' && answerForAttempt(wf, state.id, state.attempts)) return { kind: 'await_human' };
  }
  if (state.status === 'running' && node?.kind === 'agent' && state.agentResult) {
    return { kind: 'complete_from_agent', agentId: state.agentResult.agentId, output: state.agentResult.output };
  }
  // A node still queued for a slot never started an attempt: no interruption to count.
  if (state.status === 'queued') return { kind: 'interrupt', reason: 'the process queueing it ended' };
  return { kind: 'interrupt', reason: 'the process running it ended' };
}

/** The status a run ends with. */
export function finalStatus(wf: WorkflowState, failed: boolean): 'completed' | 'failed' | 'cancelled' {
  if (wf.cancelRequested) return 'cancelled';
  if (failed) return 'failed';
  for (const id in wf.nodes) if (wf.nodes[id]?.status === 'failed' && Object.hasOwn(wf.nodes, id)) return 'failed';
  return 'completed';
}

/** The first failed node's error, as the workflow's error. */
export function firstFailure(wf: WorkflowState): OrchestratorError | undefined {
  for (const node of Object.values(wf.nodes)) {
    if (node.status !== 'failed' || !node.error) continue;
    return new OrchestratorError('INTERNAL', `node "${node.id}" failed: ${node.error.message}`, {
      details: { nodeId: node.id, code: node.error.code },
    });
  }
  return undefined;
}

/**
 * The nodes to compensate, latest completion first, that have not been compensated yet (a
 * compensation started but without an outcome runs again).
 */
export function compensationOrder(plan: WorkflowPlan, wf: WorkflowState, completionOrder: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = completionOrder.length - 1; i >= 0; i--) {
    const id = completionOrder[i] as string;
    if (!plan.node(id)?.renderCompensation) continue;
    if (wf.nodes[id]?.compensated !== undefined) continue;
    out.push(id);
  }
  return out;
}

/**
 * The ids of a run's completed nodes (`completed`, in any order) in the order they completed,
 * for a rollback after a restart. Completion times have millisecond precision: on a tie, a
 * dependency completed first.
 */
export function completionOrderOf(plan: WorkflowPlan, completed: readonly NodeState[]): string[] {
  // A fresh run has none: no index of the whole plan to build.
  if (completed.length === 0) return [];
  const topological = new Map([...plan.nodes()].map((node, index) => [node.id, index]));
  const sorted = [...completed].sort(
    (a, b) =>
      (a.endedAt ?? '').localeCompare(b.endedAt ?? '') || (topological.get(a.id) ?? 0) - (topological.get(b.id) ?? 0),
  );
  return sorted.map((node) => node.id);
}

/** Open questions of a node (its own, and those its agents asked), to close when it stops. */
export function openRequestsOf(wf: WorkflowState, nodeId: string): string[] {
  const ids: string[] = [];
  for (const request of Object.values(wf.inputRequests)) if (request.nodeId === nodeId) ids.push(request.requestId);
  return ids;
}

/**
 * An answer a human gave to this attempt's question before a restart, to use instead of
 * asking again. Answers to earlier attempts do not count: each attempt of an approval asks.
 */
export function answerForAttempt(wf: WorkflowState, nodeId: string, attempt: number): { value: unknown } | undefined {
  let found: { value: unknown } | undefined;
  for (const answer of Object.values(wf.answers)) {
    if (answer.nodeId !== nodeId) continue;
    // Answers recorded before attempts were tracked count for the attempt running then.
    if (answer.attempt !== undefined && answer.attempt !== attempt) continue;
    found = { value: answer.value };
  }
  return found;
}

/** What a control request from outside the owner leads to. */
export type ControlDecision =
  | { readonly kind: 'cancel' | 'pause' | 'resume' }
  | { readonly kind: 'answer'; readonly requestId: string }
  | { readonly kind: 'grant' | 'revoke'; readonly agentType: string; readonly rule: string }
  | { readonly kind: 'reject'; readonly reason: string };

/**
 * Decides a control request: applied when it still makes sense, else rejected with the reason
 * (recorded, so its sender can see why). `ended`: this run no longer takes decisions.
 */
export function decideControl(control: PendingControl, wf: WorkflowState, ended: boolean): ControlDecision {
  if (ended) return { kind: 'reject', reason: `the workflow is ${wf.status}` };
  switch (control.action) {
    case 'cancel':
      return wf.cancelRequested
        ? { kind: 'reject', reason: 'the workflow is already being cancelled' }
        : { kind: 'cancel' };
    case 'pause':
      return wf.paused ? { kind: 'reject', reason: 'the workflow is already paused' } : { kind: 'pause' };
    case 'resume':
      return wf.paused ? { kind: 'resume' } : { kind: 'reject', reason: 'the workflow is not paused' };
    case 'answer': {
      const requestId = control.requestId ?? '';
      return wf.inputRequests[requestId]
        ? { kind: 'answer', requestId }
        : { kind: 'reject', reason: `no open question "${requestId}"` };
    }
    case 'grant':
    case 'revoke':
      // Checked when requested; a request recorded by hand without them is refused here.
      return control.agentType && control.rule
        ? { kind: control.action, agentType: control.agentType, rule: control.rule }
        : { kind: 'reject', reason: `a ${control.action} needs an agent type and a rule` };
  }
}

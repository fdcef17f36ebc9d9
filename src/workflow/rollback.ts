import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import { compensationOrder } from './decide.ts';
import type { NodeContext, NodeExecutor, NodeOutcome, NodeRunContext, PlanNode, WorkflowPlan } from './plan.ts';
import type { WorkflowState } from './state.ts';

/** What a rollback needs from its run: a narrow view, not the run itself. */
export interface RollbackHost {
  readonly workflowId: string;
  readonly plan: WorkflowPlan;
  state(): WorkflowState;
  /** Completed nodes in completion order. */
  readonly completionOrder: readonly string[];
  /** Runs compensation tasks (the agent executor). */
  readonly executor: NodeExecutor | undefined;
  context(): NodeContext;
  /** Records an event now (applied at once, durable soon). */
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void>;
  requestInput: NodeRunContext['requestInput'];
}

/** How a rollback ended: every compensation ran, or a stop (cancel, pause, suspend) ended it early. */
export type RollbackEnd = 'done' | 'stopped';

/**
 * Runs the compensation of every completed node, latest completion first. Each compensation is
 * recorded as intent (`node.compensating`) and outcome (`node.compensated`), so a rollback cut
 * short by a crash, a pause or `close()` carries on where it stopped: a compensation without an
 * outcome runs again, one with an outcome never does. `signal` stops it between and during
 * compensations (the running compensation agent is interrupted and records no outcome).
 */
export async function runRollback(host: RollbackHost, reason: string, signal: AbortSignal): Promise<RollbackEnd> {
  if (!host.state().rollingBack) await host.record('workflow.rolling_back', { reason });
  for (const id of compensationOrder(host.plan, host.state(), host.completionOrder)) {
    if (signal.aborted) return 'stopped';
    const node = host.plan.node(id) as PlanNode;
    await host.record('node.compensating', { nodeId: id });
    if (signal.aborted) return 'stopped';
    const outcome = await compensate(host, node, signal);
    if (signal.aborted) return 'stopped';
    await host.record('node.compensated', {
      nodeId: id,
      ok: outcome.ok,
      ...(!outcome.ok && { error: outcome.error.toJSON() }),
    });
  }
  return 'done';
}

async function compensate(host: RollbackHost, node: PlanNode, signal: AbortSignal): Promise<NodeOutcome> {
  try {
    if (!host.executor) throw new OrchestratorError('NODE_KIND_UNKNOWN', 'no agent executor for compensation tasks');
    const context = host.context();
    const task = (node.renderCompensation as (context: NodeContext) => string)(context);
    const compensation: PlanNode = {
      ...node,
      kind: 'agent',
      agent: node.compensationAgent ?? node.agent,
      outputSchema: undefined,
      cacheTtlMs: undefined,
      // A compensation works in the session workspace: what it undoes was merged there.
      workspace: 'shared',
      session: undefined,
    };
    return await host.executor.run({
      ...context,
      workflowId: host.workflowId,
      node: compensation,
      attempt: 1,
      signal,
      task,
      checkpoint: () => {
        if (signal.aborted) throw new OrchestratorError('NODE_INTERRUPTED', 'the rollback was stopped');
      },
      requestInput: host.requestInput,
    });
  } catch (error) {
    return { ok: false, error: toOrchestratorError(error) };
  }
}

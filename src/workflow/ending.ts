import { OrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import type { StopReason } from './decide.ts';
import type { NodeContext, NodeExecutor, WorkflowPlan } from './plan.ts';
import { runRollback } from './rollback.ts';
import type { WorkflowState } from './state.ts';

/** What the end of a run needs from it: a narrow view, not the run itself. */
export interface EndingHost {
  readonly workflowId: string;
  readonly plan: WorkflowPlan;
  state(): WorkflowState;
  /** Completed nodes in completion order (compensations run in reverse). */
  readonly completionOrder: readonly string[];
  /** Runs compensation tasks (the agent executor). */
  readonly executor: NodeExecutor | undefined;
  context(): NodeContext;
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void>;
  flush(): Promise<void>;
  /** True once this process let go of the run: a rollback it cut short records nothing more. */
  suspended(): boolean;
}

/**
 * The end of a run: rolls back a failed run that asks for it (see rollback.ts), then records
 * `workflow.completed`. A rollback honours stops: a cancel ends the run `cancelled` with the
 * compensations done so far, a pause leaves it rolling back until resumed (the run waits), a
 * suspend lets go and the next owner carries the rollback on.
 */
export class RunEnding {
  readonly #host: EndingHost;
  #stop: AbortController | undefined;
  #rollback: Promise<unknown> = Promise.resolve();

  constructor(host: EndingHost) {
    this.#host = host;
  }

  /** Stops the rollback under way, if any. */
  stop(reason: StopReason): void {
    this.#stop?.abort(reason);
  }

  /** Resolves once the rollback under way (if any) has stopped or finished. */
  settled(): Promise<unknown> {
    return this.#rollback;
  }

  /**
   * Rolls back when due, then records the end.
   * @returns the final state, or undefined when a stop cut the rollback short and the run goes
   * on (paused) or was let go (suspended).
   */
  async finish(
    status: 'completed' | 'failed' | 'cancelled',
    failure: OrchestratorError | undefined,
  ): Promise<WorkflowState | undefined> {
    const host = this.#host;
    let rolledBack = false;
    if (status === 'failed' && host.plan.rollback) {
      const end = await this.#runRollback(failure?.message ?? 'the workflow failed');
      if (end === 'stopped') {
        if (host.suspended() || !host.state().cancelRequested) return undefined;
        await host.record('workflow.completed', { status: 'cancelled', rolledBack: false });
        await host.flush();
        return host.state();
      }
      rolledBack = true;
    }
    const final = host.state().cancelRequested ? 'cancelled' : status;
    await host.record('workflow.completed', {
      status: final,
      ...(final === 'failed' && failure && { error: failure.toJSON() }),
      ...(rolledBack && { rolledBack }),
    });
    await host.flush();
    return host.state();
  }

  #runRollback(reason: string) {
    const host = this.#host;
    this.#stop = new AbortController();
    const running = runRollback(
      {
        workflowId: host.workflowId,
        plan: host.plan,
        state: () => host.state(),
        completionOrder: host.completionOrder,
        executor: host.executor,
        context: () => host.context(),
        record: (type, data) => host.record(type, data),
        requestInput: () => Promise.reject(new OrchestratorError('NODE_INTERRUPTED', 'compensations ask no questions')),
      },
      reason,
      this.#stop.signal,
    );
    this.#rollback = running
      .catch(() => undefined)
      .finally(() => {
        this.#stop = undefined;
      });
    return running;
  }
}

import type { AnyEvent } from '../events/index.ts';
import type { CompiledBudget } from '../workflow/index.ts';
import { type Breach, BudgetLedger } from './budget.ts';
import { replayMetrics } from './metrics.ts';

/**
 * Resuming a session its budget paused. The pause is in the log (`workflow.paused` with a
 * `budget exhausted: …` reason, after the `budget.exhausted` event), so a resumed run starts
 * paused. Whether it may carry on is decided against the limits in force now (raised by the
 * environment or the CLI's `--budget-*` flags), not those of the run that paused: a workflow
 * whose limits are no longer reached is resumed (`workflow.resumed`); one still over a limit
 * stays paused. Pure: figures and limits come from the events and the budget given.
 */

/** Why a session's unfinished workflow is paused by a budget, and which limits still hold it. */
export interface BudgetPause {
  /** The paused workflow (the latest unfinished one of the session). */
  readonly workflowId: string;
  /** The reason recorded with the pause (`budget exhausted: …`). */
  readonly reason: string;
  /**
   * The limits that apply to the workflow and are reached now, under the budget given (the
   * global one; budgets written in workflow files count too, and cannot be raised this way).
   * Empty once the limits were raised enough.
   */
  readonly reached: readonly Breach[];
}

/** The prefix of the reason of a pause decided by a budget (see the monitor). */
export const BUDGET_PAUSE_REASON = 'budget exhausted';

/**
 * The budget pause of a session's latest unfinished workflow, or undefined when that workflow
 * is not paused, or paused for another reason (or every workflow has ended).
 * @param budget the global limits in force now (`monitorSettings(config).budget`)
 */
export function budgetPauseOf(
  sessionId: string,
  events: readonly AnyEvent[],
  budget: CompiledBudget | undefined,
): BudgetPause | undefined {
  const ledger = new BudgetLedger(sessionId, budget);
  /** Unfinished workflows, in start order, with the reason of the pause in force (null: running). */
  const open = new Map<string, string | null>();
  for (const event of events) {
    ledger.observe(event);
    if (event.type === 'workflow.started') open.set(event.data.workflowId, null);
    else if (event.type === 'workflow.completed') open.delete(event.data.workflowId);
    else if (event.type === 'workflow.paused' && open.has(event.data.workflowId))
      open.set(event.data.workflowId, event.data.reason ?? '');
    else if (event.type === 'workflow.resumed' && open.has(event.data.workflowId))
      open.set(event.data.workflowId, null);
  }
  const latest = [...open].at(-1);
  if (latest === undefined) return undefined;
  const [workflowId, reason] = latest;
  if (reason === null || !reason.startsWith(BUDGET_PAUSE_REASON)) return undefined;
  return { workflowId, reason, reached: ledger.reached(replayMetrics(sessionId, events), workflowId) };
}

/**
 * True when a workflow paused by its budget may carry on: no limit that applies to it is
 * reached any more. False without a budget pause.
 * @example
 * if (budgetPauseLifted(budgetPauseOf(sessionId, events, monitorSettings(config).budget))) handle.resume('budget raised');
 */
export function budgetPauseLifted(pause: BudgetPause | undefined): boolean {
  return pause !== undefined && pause.reached.length === 0;
}

/** One line naming the limits a pause is still held by. */
export function describeReached(reached: readonly Breach[]): string {
  return reached
    .map((breach) => {
      const what = breach.scope === 'agentType' ? `agent type ${breach.key}` : `the ${breach.scope}`;
      return `${what} has spent $${breach.spentUsd.toFixed(4)} of its $${breach.limitUsd} limit`;
    })
    .join('; ');
}

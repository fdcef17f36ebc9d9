import { OrchestratorError } from '../errors/index.ts';
import type { GateScope, ScopeRef } from './budget-ledger.ts';
import { nanoOf, usd } from './budget-price.ts';

/**
 * What the budget gate knows of each session beyond its accounts (which limits it reported,
 * which agents it stopped, how each agent's input counts compare with the real figures), and
 * what a refusal says: the `budget.exhausted` payload and the `BUDGET_EXHAUSTED` error.
 */

/** What a limit counts: US dollars, or tokens (input, cache reads and writes included, plus output). */
export type BudgetUnit = 'usd' | 'tokens';

/** The payload of a `budget.exhausted` event the gate records: a limit in dollars or in tokens. */
export interface ExhaustedData {
  readonly scope: GateScope;
  readonly key: string;
  readonly limitUsd?: number;
  readonly spentUsd?: number;
  readonly limitTokens?: number;
  readonly spentTokens?: number;
  readonly action: 'fail' | 'pause';
  readonly workflowId?: string;
}

/** A limit reported once: its scope, key, and amount in its unit. */
export interface ReportedLimit {
  readonly scope: GateScope;
  readonly key: string;
  readonly limitUsd?: number | undefined;
  readonly limitTokens?: number | undefined;
}

/** One session's state in the gate. */
export interface SessionState {
  /** `agentId|subagent` → real input over counted input of its last response (at least 1). */
  readonly calibration: Map<string, number>;
  /** `scope|key` (`|tokens` for token limits) → highest limit (nano-dollars, or tokens) already reported. */
  readonly recorded: Map<string, number>;
  readonly stopped: Set<string>;
}

/** A session the gate has not seen yet. */
export function newSessionState(): SessionState {
  return { calibration: new Map(), recorded: new Map(), stopped: new Set() };
}

/** The key and amount a reported limit is remembered by. */
function reportKey(limit: ReportedLimit): { id: string; amount: number } | undefined {
  if (limit.limitTokens !== undefined) return { id: `${limit.scope}|${limit.key}|tokens`, amount: limit.limitTokens };
  if (limit.limitUsd !== undefined) return { id: `${limit.scope}|${limit.key}`, amount: nanoOf(limit.limitUsd) };
  return undefined;
}

/** Marks a limit as reported; true when it was not reported before at this amount or more (report it now). */
export function markReported(state: SessionState, limit: ReportedLimit): boolean {
  const key = reportKey(limit);
  if (!key) return false;
  const first = (state.recorded.get(key.id) ?? -1) < key.amount;
  if (first) state.recorded.set(key.id, key.amount);
  return first;
}

/** The payload of a refusal against one limit, with what its account has booked (nano-dollars or tokens). */
export function exhaustedData(
  ref: ScopeRef,
  unit: BudgetUnit,
  limit: number,
  booked: number,
  action: 'fail' | 'pause',
  workflowId: string | undefined,
): ExhaustedData {
  const amounts =
    unit === 'usd'
      ? { limitUsd: limit, spentUsd: Math.round(usd(booked) * 1e6) / 1e6 }
      : { limitTokens: limit, spentTokens: booked };
  return { scope: ref.scope, key: ref.key, ...amounts, action, ...(workflowId !== undefined && { workflowId }) };
}

/** The `BUDGET_EXHAUSTED` error of a refusal. */
export function exhaustedError(data: ExhaustedData, requestId: string, agentId: string): OrchestratorError {
  return new OrchestratorError('BUDGET_EXHAUSTED', `budget exhausted: ${describe(data)}`, {
    details: { ...data, requestId, agentId },
  });
}

function describe(data: ExhaustedData): string {
  const what = data.scope === 'agentType' ? `agent type ${data.key}` : `${data.scope} ${data.key}`;
  const spent =
    data.limitTokens !== undefined
      ? `${data.spentTokens ?? 0} of its ${data.limitTokens} tokens`
      : `$${(data.spentUsd ?? 0).toFixed(4)} of its $${data.limitUsd} limit`;
  return `${what} has spent ${spent}; a model request does not fit`;
}

import { describe, expect, it } from 'vitest';
import { BudgetLedger, budgetPauseLifted, budgetPauseOf, replayMetrics } from '../../src/monitor/index.ts';
import type { CompiledBudget } from '../../src/workflow/index.ts';
import { EventRecorder } from './kit.ts';

// A session paused by its budget, resumed under the limits in force now: it carries on only
// when no limit that applies to it is reached any more, and a raised limit is reported (and
// so pauses again) when spending reaches its new value.

const budget = (overrides: Partial<CompiledBudget>): CompiledBudget => ({
  session: undefined,
  workflow: undefined,
  agentTypes: {},
  onExhausted: 'pause',
  ...overrides,
});

/** A coder of wf_1 spent about $1 (sonnet output tokens); the session limit of $0.5 paused the workflow. */
function pausedSession(definitionBudget?: Record<string, unknown>): EventRecorder {
  const r = new EventRecorder();
  r.start('wf_1', { name: 'flow', nodes: [], ...(definitionBudget && { budget: definitionBudget }) }).spawn('agt_1');
  r.usage('agt_1', 0, Math.round(1_000_000 / 15));
  r.add('budget.exhausted', {
    scope: 'session',
    key: r.sessionId,
    limitUsd: 0.5,
    spentUsd: 1,
    action: 'pause',
    workflowId: 'wf_1',
  });
  r.add('workflow.paused', { workflowId: 'wf_1', reason: 'budget exhausted: session ses_test has spent $1.0000' });
  return r;
}

describe('budgetPauseOf / budgetPauseLifted', () => {
  it('holds the pause while the limit that paused it is still reached', () => {
    const r = pausedSession();
    const pause = budgetPauseOf(r.sessionId, r.events, budget({ session: 0.5 }));
    expect(pause).toMatchObject({ workflowId: 'wf_1', reason: expect.stringMatching(/^budget exhausted/) });
    expect(pause?.reached).toMatchObject([{ scope: 'session', key: r.sessionId, limitUsd: 0.5, action: 'pause' }]);
    expect(budgetPauseLifted(pause)).toBe(false);
  });

  it('lifts it once the limits are raised above what was spent, or removed', () => {
    const r = pausedSession();
    expect(budgetPauseLifted(budgetPauseOf(r.sessionId, r.events, budget({ session: 2 })))).toBe(true);
    expect(budgetPauseLifted(budgetPauseOf(r.sessionId, r.events, undefined))).toBe(true);
    // Another limit reached holds it too: the workflow's.
    const other = budgetPauseOf(r.sessionId, r.events, budget({ session: 2, workflow: 0.75 }));
    expect(other?.reached).toMatchObject([{ scope: 'workflow', key: 'wf_1' }]);
    expect(budgetPauseLifted(other)).toBe(false);
  });

  it('cannot raise a limit written in the workflow file (the lower one wins)', () => {
    const r = pausedSession({ session: 0.5, onExhausted: 'pause' });
    const pause = budgetPauseOf(r.sessionId, r.events, budget({ session: 5 }));
    expect(pause?.reached).toMatchObject([{ scope: 'session', limitUsd: 0.5 }]);
    expect(budgetPauseLifted(pause)).toBe(false);
  });

  it('is undefined for a running workflow, another kind of pause, a resumed or an ended one', () => {
    const r = pausedSession();
    const without = (type: string) => r.events.filter((e) => e.type !== type);
    expect(budgetPauseOf(r.sessionId, without('workflow.paused'), budget({}))).toBeUndefined();
    const byHand = new EventRecorder();
    byHand.start('wf_1').add('workflow.paused', { workflowId: 'wf_1', reason: 'paused from the API' });
    expect(budgetPauseOf(byHand.sessionId, byHand.events, budget({}))).toBeUndefined();
    r.add('workflow.resumed', { workflowId: 'wf_1' });
    expect(budgetPauseOf(r.sessionId, r.events, budget({ session: 0.5 }))).toBeUndefined();
    const ended = pausedSession();
    ended.add('workflow.completed', { workflowId: 'wf_1', status: 'cancelled' });
    expect(budgetPauseOf(ended.sessionId, ended.events, budget({ session: 0.5 }))).toBeUndefined();
    expect(budgetPauseLifted(undefined)).toBe(false);
  });
});

describe('BudgetLedger after a raise', () => {
  it('reports a raised limit again once spending reaches its new value, not before', () => {
    const r = pausedSession();
    const ledger = new BudgetLedger(r.sessionId, budget({ session: 1.5 }));
    for (const event of r.events) ledger.observe(event);
    // The replayed budget.exhausted was at $0.5: nothing to report at $1 of $1.5.
    expect(ledger.breaches(replayMetrics(r.sessionId, r.events), 'agt_1')).toEqual([]);
    r.usage('agt_1', 0, Math.round(600_000 / 15));
    const breaches = ledger.breaches(replayMetrics(r.sessionId, r.events), 'agt_1');
    expect(breaches).toMatchObject([{ scope: 'session', limitUsd: 1.5, action: 'pause' }]);
    ledger.record(breaches[0] as (typeof breaches)[0]);
    expect(ledger.breaches(replayMetrics(r.sessionId, r.events), 'agt_1')).toEqual([]);
  });
});

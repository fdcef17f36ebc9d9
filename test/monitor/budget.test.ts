import { describe, expect, it } from 'vitest';
import { BudgetLedger, type MetricsState, replayMetrics } from '../../src/monitor/index.ts';
import type { CompiledBudget } from '../../src/workflow/index.ts';
import { EventRecorder } from './kit.ts';

// Budget decisions over the live metrics: who may start spending, with how much, and which
// limits are reached (each reported once).

const budget = (overrides: Partial<CompiledBudget>): CompiledBudget => ({
  session: undefined,
  workflow: undefined,
  agentTypes: {},
  onExhausted: undefined,
  ...overrides,
});

/** A session where agent `agt_1` (a coder of wf_1) spent about `usd` on sonnet output tokens. */
function spent(
  usd: number,
  definitionBudget?: Record<string, unknown>,
): { r: EventRecorder; metrics: () => MetricsState } {
  const r = new EventRecorder();
  r.start('wf_1', { name: 'flow', nodes: [], ...(definitionBudget && { budget: definitionBudget }) }).spawn('agt_1');
  r.usage('agt_1', 0, Math.round((usd * 1_000_000) / 15));
  return { r, metrics: () => replayMetrics(r.sessionId, r.events) };
}

function ledgerOf(r: EventRecorder, global: CompiledBudget | undefined): BudgetLedger {
  const ledger = new BudgetLedger(r.sessionId, global);
  for (const event of r.events) ledger.observe(event);
  return ledger;
}

describe('BudgetLedger', () => {
  it('lets an agent start with what the tightest limit leaves', () => {
    const { r, metrics } = spent(0.3);
    const ledger = ledgerOf(r, budget({ session: 2, workflow: 1, agentTypes: { coder: 0.5 } }));
    const verdict = ledger.admit(metrics(), { workflowId: 'wf_1', agentType: 'coder' });
    expect(verdict.ok && verdict.remainingUsd).toBeCloseTo(0.2, 6);
    const other = ledger.admit(metrics(), { workflowId: 'wf_1', agentType: 'reviewer' });
    expect(other.ok && other.remainingUsd).toBeCloseTo(0.7, 6);
    expect(new BudgetLedger('s', undefined).unlimited).toBe(true);
    expect(new BudgetLedger('s', undefined).admit(metrics(), { agentType: 'coder' })).toEqual({
      ok: true,
      remainingUsd: undefined,
    });
  });

  it('lists the limits over a request, without spending, for the model gateway', () => {
    const { r } = spent(0.3, { workflow: 0.8, agentTypes: { coder: 0.4 }, onExhausted: 'pause' });
    const ledger = ledgerOf(r, budget({ session: 2, workflow: 1, agentTypes: { coder: 0.5 } }));
    expect(ledger.limitsOf({ workflowId: 'wf_1', agentType: 'coder' })).toEqual([
      { scope: 'session', key: r.sessionId, limitUsd: 2, action: 'pause' },
      { scope: 'workflow', key: 'wf_1', limitUsd: 0.8, action: 'pause' },
      { scope: 'agentType', key: 'coder', limitUsd: 0.4, action: 'pause' },
    ]);
    expect(ledger.limitsOf({ agentType: 'reviewer' })).toEqual([
      { scope: 'session', key: r.sessionId, limitUsd: 2, action: 'fail' },
    ]);
    // Breaches over nodes and agents (the gateway's) are remembered as recorded too.
    ledger.record({ scope: 'node', key: 'wf_1/a', limitUsd: 0.1 });
    expect(ledger.recorded({ scope: 'node', key: 'wf_1/a', limitUsd: 0.1 })).toBe(true);
  });

  it('refuses once a limit is reached, naming it', () => {
    const { r, metrics } = spent(1.0);
    const ledger = ledgerOf(r, budget({ workflow: 1 }));
    expect(ledger.admit(metrics(), { workflowId: 'wf_1', agentType: 'coder' })).toEqual({
      ok: false,
      breach: { scope: 'workflow', key: 'wf_1', limitUsd: 1, spentUsd: 1.000005, action: 'fail', workflowId: 'wf_1' },
    });
    // Another workflow of the session has its own limit.
    expect(ledger.admit(metrics(), { workflowId: 'wf_2', agentType: 'coder' }).ok).toBe(true);
  });

  it('takes limits and the action from the workflow definition; the lower limit wins', () => {
    const { r, metrics } = spent(0.6, { session: 0.5, onExhausted: 'pause' });
    const ledger = ledgerOf(r, budget({ session: 3, onExhausted: 'fail' }));
    expect(ledger.unlimited).toBe(false);
    const verdict = ledger.admit(metrics(), { workflowId: 'wf_1', agentType: 'coder' });
    expect(verdict).toMatchObject({
      ok: false,
      breach: { scope: 'session', key: 'ses_test', limitUsd: 0.5, action: 'pause' },
    });
  });

  it('reports each reached limit once, until the log says it was recorded', () => {
    const { r, metrics } = spent(0.8);
    const ledger = ledgerOf(r, budget({ agentTypes: { coder: 0.5 }, session: 0.75 }));
    const breaches = ledger.breaches(metrics(), 'agt_1');
    expect(breaches.map((b) => `${b.scope}:${b.key}`)).toEqual(['session:ses_test', 'agentType:coder']);
    ledger.record(breaches[0] as (typeof breaches)[number]);
    expect(ledger.breaches(metrics(), 'agt_1').map((b) => b.scope)).toEqual(['agentType']);
    // A ledger rebuilt from the log knows what was recorded.
    r.add('budget.exhausted', { scope: 'agentType', key: 'coder', limitUsd: 0.5, spentUsd: 0.8, action: 'fail' });
    const rebuilt = ledgerOf(r, budget({ agentTypes: { coder: 0.5 } }));
    expect(rebuilt.breaches(metrics())).toEqual([]);
  });
});

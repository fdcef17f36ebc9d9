import { afterEach, describe, expect, it, vi } from 'vitest';
import { runConfig } from '../../src/cli/run-config.ts';

// The `--budget-*` flags of `run` and `sessions resume` override the environment's limits.

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('runConfig', () => {
  it('takes the limits from the environment without flags', () => {
    vi.stubEnv('ORCHESTRATOR_BUDGET_SESSION_USD', '0.5');
    vi.stubEnv('ORCHESTRATOR_BUDGET_AGENT_TYPES', 'coder=1,reviewer=0.25');
    const config = runConfig({ dataDir: '/tmp/x' }, { budgetAgentType: [] });
    expect(config.budgetSessionUsd).toBe(0.5);
    expect(config.budgetWorkflowUsd).toBeUndefined();
    expect(config.budgetAgentTypes).toEqual({ coder: 1, reviewer: 0.25 });
  });

  it('lets the flags override them, agent types one by one', () => {
    vi.stubEnv('ORCHESTRATOR_BUDGET_SESSION_USD', '0.5');
    vi.stubEnv('ORCHESTRATOR_BUDGET_AGENT_TYPES', 'coder=1,reviewer=0.25');
    const config = runConfig(
      { dataDir: '/tmp/x' },
      { budgetSession: '2', budgetWorkflow: '1.5', budgetAgentType: ['coder=3,planner=0.1', 'lead=0'] },
    );
    expect(config.budgetSessionUsd).toBe(2);
    expect(config.budgetWorkflowUsd).toBe(1.5);
    expect(config.budgetAgentTypes).toEqual({ coder: 3, reviewer: 0.25, planner: 0.1, lead: 0 });
  });

  it('refuses a bad amount, naming the flag', () => {
    const config = (flags: Parameters<typeof runConfig>[1]) => () => runConfig({ dataDir: '/tmp/x' }, flags);
    expect(config({ budgetSession: 'ten', budgetAgentType: [] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('--budget-session') }),
    );
    expect(config({ budgetWorkflow: '-1', budgetAgentType: [] })).toThrow(/--budget-workflow expects/);
    expect(config({ budgetAgentType: ['coder'] })).toThrow(/--budget-agent-type expects TYPE=USD pairs, got "coder"/);
    expect(config({ budgetAgentType: ['coder=x'] })).toThrow(/--budget-agent-type coder expects/);
  });
});

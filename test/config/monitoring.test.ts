import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../src/config/index.ts';
import { isOrchestratorError } from '../../src/errors/index.ts';

// The monitoring part of the configuration: alerts, budgets, traces and memory samples, read
// from the environment, validated at once, reported together when wrong.

describe('monitoring configuration', () => {
  it('is off or empty by default', () => {
    const config = loadConfig({ dataDir: '/tmp/orch-data' }, {});
    expect(config).toMatchObject({
      resourceSampleMs: 5000,
      otel: 'off',
      otelFile: '/tmp/orch-data/traces.jsonl',
      alertMaxResponseMs: undefined,
      alertMaxErrorRate: undefined,
      alertErrorWindowMs: 600_000,
      alertRules: [],
      budgetSessionUsd: undefined,
      budgetAgentTypes: {},
      budgetAction: 'fail',
    });
    expect(Object.isFrozen(config.alertRules)).toBe(true);
  });

  it('reads every setting from the environment, converting units', () => {
    const config = loadConfig(
      {},
      {
        ORCHESTRATOR_RESOURCE_SAMPLE_MS: '0',
        ORCHESTRATOR_OTEL: 'file',
        ORCHESTRATOR_OTEL_FILE: '/tmp/t.jsonl',
        ORCHESTRATOR_ALERT_MAX_RESPONSE_TIME: '90s',
        ORCHESTRATOR_ALERT_MAX_ERROR_RATE: '0.25',
        ORCHESTRATOR_ALERT_ERROR_WINDOW: '2m',
        ORCHESTRATOR_ALERT_MAX_SESSION_COST: '5',
        ORCHESTRATOR_ALERT_MAX_WORKFLOW_COST: '2.5',
        ORCHESTRATOR_ALERT_RULES: '[{"name":"chatty","when":"session.toolCalls > 100"}]',
        ORCHESTRATOR_BUDGET_SESSION_USD: '10',
        ORCHESTRATOR_BUDGET_WORKFLOW_USD: '4',
        ORCHESTRATOR_BUDGET_AGENT_TYPES: 'coder=1.5, reviewer=0.5',
        ORCHESTRATOR_BUDGET_ACTION: 'pause',
      },
    );
    expect(config).toMatchObject({
      resourceSampleMs: 0,
      otel: 'file',
      otelFile: '/tmp/t.jsonl',
      alertMaxResponseMs: 90_000,
      alertMaxErrorRate: 0.25,
      alertErrorWindowMs: 120_000,
      alertMaxSessionCostUsd: 5,
      alertMaxWorkflowCostUsd: 2.5,
      alertRules: [{ name: 'chatty', when: 'session.toolCalls > 100' }],
      budgetSessionUsd: 10,
      budgetWorkflowUsd: 4,
      budgetAgentTypes: { coder: 1.5, reviewer: 0.5 },
      budgetAction: 'pause',
    });
    expect(redactConfig(config).budgetAgentTypes).toEqual({ coder: 1.5, reviewer: 0.5 });
  });

  it('reports every bad setting in one error, naming its variable and what arrived', () => {
    let error: unknown;
    try {
      loadConfig(
        {},
        {
          ORCHESTRATOR_OTEL: 'otlp',
          ORCHESTRATOR_ALERT_MAX_RESPONSE_TIME: 'soon',
          ORCHESTRATOR_ALERT_MAX_ERROR_RATE: '2',
          ORCHESTRATOR_ALERT_RULES: '{"name":"x"}',
          ORCHESTRATOR_BUDGET_SESSION_USD: '-1',
          ORCHESTRATOR_BUDGET_AGENT_TYPES: 'coder:1',
          ORCHESTRATOR_BUDGET_ACTION: 'stop',
        },
      );
    } catch (caught) {
      error = caught;
    }
    expect(isOrchestratorError(error, 'CONFIG_INVALID')).toBe(true);
    const fields = (error as { details: { problems: { envName: string }[] } }).details.problems.map((p) => p.envName);
    expect(fields.sort()).toEqual(
      [
        'ORCHESTRATOR_ALERT_MAX_ERROR_RATE',
        'ORCHESTRATOR_ALERT_MAX_RESPONSE_TIME',
        'ORCHESTRATOR_ALERT_RULES',
        'ORCHESTRATOR_BUDGET_ACTION',
        'ORCHESTRATOR_BUDGET_AGENT_TYPES',
        'ORCHESTRATOR_BUDGET_SESSION_USD',
        'ORCHESTRATOR_OTEL',
      ].sort(),
    );
    expect((error as Error).message).toContain('ORCHESTRATOR_BUDGET_AGENT_TYPES): expected NAME=DOLLARS pairs');
    expect((error as Error).message).toContain('received "soon" (string)');
  });
});

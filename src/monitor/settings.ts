import type { OrchestratorConfig } from '../config/index.ts';
import { type CompiledAlerts, type CompiledBudget, compileAlertsValue, compileBudgetValue } from '../workflow/index.ts';
import type { TracingOptions } from './trace-export.ts';

/** The parts of a `MonitorOptions` the configuration decides. */
export interface MonitorSettings {
  readonly alerts: CompiledAlerts;
  readonly budget: CompiledBudget;
  readonly tracing: TracingOptions | undefined;
}

/**
 * The monitor's settings from the configuration: global alert thresholds and rules and cost
 * limits, compiled, and the trace exporter.
 * @throws OrchestratorError `CONFIG_INVALID` naming the rule and field of `ORCHESTRATOR_ALERT_RULES` at fault.
 */
export function monitorSettings(config: OrchestratorConfig): MonitorSettings {
  const alerts = compileAlertsValue(
    {
      ...(config.alertMaxResponseMs !== undefined && { maxResponseTime: config.alertMaxResponseMs }),
      ...(config.alertMaxErrorRate !== undefined && {
        maxErrorRate: { rate: config.alertMaxErrorRate, window: config.alertErrorWindowMs },
      }),
      maxCost: {
        ...(config.alertMaxSessionCostUsd !== undefined && { session: config.alertMaxSessionCostUsd }),
        ...(config.alertMaxWorkflowCostUsd !== undefined && { workflow: config.alertMaxWorkflowCostUsd }),
      },
      rules: [...config.alertRules],
    },
    'ORCHESTRATOR_ALERT_RULES',
  );
  const budget = compileBudgetValue(
    {
      ...(config.budgetSessionUsd !== undefined && { session: config.budgetSessionUsd }),
      ...(config.budgetWorkflowUsd !== undefined && { workflow: config.budgetWorkflowUsd }),
      agentTypes: { ...config.budgetAgentTypes },
      onExhausted: config.budgetAction,
    },
    'ORCHESTRATOR_BUDGET_*',
  );
  return {
    alerts,
    budget,
    tracing: config.otel === 'off' ? undefined : { exporter: config.otel, file: config.otelFile },
  };
}

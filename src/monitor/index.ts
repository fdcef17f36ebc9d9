/**
 * Real-time monitoring: metrics as a pure projection of events, per-model pricing, alert
 * rules, budgets that stop spending, Prometheus metrics, OpenTelemetry traces (GenAI semantic
 * conventions), and summaries over sessions.
 */

export { scopesOf } from './agent-metrics.ts';
export type { AlertSettings } from './alert-settings.ts';
export { mergeAlertSettings, NO_ALERTS } from './alert-settings.ts';
export type { AlertData, AlertState } from './alerts.ts';
export { AlertEvaluator, emptyAlertState } from './alerts.ts';
export type { Breach, BudgetRequest, BudgetScope, BudgetVerdict, ScopeLimit } from './budget.ts';
export { BudgetLedger } from './budget.ts';
export type { BudgetPause } from './budget-resume.ts';
export { BUDGET_PAUSE_REASON, budgetPauseLifted, budgetPauseOf, describeReached } from './budget-resume.ts';
export type { Figures, ModelFigures, Spend, Timing } from './figures.ts';
export { emptyFigures, meanMs, mergeFigures } from './figures.ts';
export { applyMetricsEvent, replayMetrics } from './metrics.ts';
export type {
  ActiveAlert,
  AgentMetrics,
  ExhaustedBudget,
  MetricsState,
  NodeMetrics,
  SessionFigures,
  SessionOrigin,
  Span,
  WorkflowMetrics,
} from './metrics-state.ts';
export { alertKey, emptyMetrics } from './metrics-state.ts';
export type { AgentStopper, MonitorOptions } from './monitor.ts';
export { budgetError, Monitor } from './monitor.ts';
export { downtimeWithin, settleGoneOwner } from './ownership.ts';
export type { ModelPrice, PriceRow, TokenCounts } from './pricing.ts';
export { costAt, PRICE_TABLE, priceOf, priceUsage } from './pricing.ts';
export { PrometheusExporter } from './prometheus.ts';
export type { MonitorSettings } from './settings.ts';
export { monitorSettings } from './settings.ts';
export type { StatsGrouping, StatsRow, StatsSummary } from './stats.ts';
export { summarize } from './stats.ts';
export type { TraceExporterKind, Tracing, TracingOptions } from './trace-export.ts';
export { createTracing, JsonLinesSpanExporter, spanToJson } from './trace-export.ts';
export { TraceBuilder } from './tracing.ts';
export type { EventView } from './view.ts';
export { viewOf } from './view.ts';

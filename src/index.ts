/**
 * AI Orchestrator: run teams of Claude agents on the Claude Agent SDK as durable, observable
 * workflows. This is the package's public API; the CLI is a thin layer over it.
 */
export type { AgentHandle, AgentResult, AgentSpec, AgentTask, AgentToolHost } from './agents/index.ts';
export { AgentRuntime, TranscriptSessionStore } from './agents/index.ts';
export type { ConfigInput, OrchestratorConfig } from './config/index.ts';
export { loadConfig } from './config/index.ts';
export type { ErrorCode } from './errors/index.ts';
export { ERROR_CODES, isOrchestratorError, OrchestratorError } from './errors/index.ts';
export type {
  AnyEvent,
  EventFilter,
  EventStream,
  EventType,
  NewEvent,
  OrchestratorEvent,
  Severity,
  StreamItem,
} from './events/index.ts';
export { EVENT_TYPES, EventBus, eventSeverity } from './events/index.ts';
export { EventLog } from './log/index.ts';
export type { ModelServer, Scenario } from './model-server/index.ts';
export { loadScenario, startModelServer } from './model-server/index.ts';
export type { AgentMetrics, Figures, MetricsState, StatsSummary, WorkflowMetrics } from './monitor/index.ts';
export { Monitor, PRICE_TABLE, PrometheusExporter, priceUsage, replayMetrics, summarize } from './monitor/index.ts';
export type { OrchestratorOptions, StartWorkflowOptions } from './orchestrator/index.ts';
export { Orchestrator, WorkflowHandle } from './orchestrator/index.ts';
export type {
  CostReport,
  OriginReport,
  OwnerFacts,
  ReportedStatus,
  ReportSource,
  ReportSourceOptions,
  SessionOwner,
  SessionReport,
  SessionRow,
  SessionRowsOptions,
  SkippedSession,
  StatisticsOptions,
  StatisticsReport,
  VersionRow,
} from './reports/index.ts';
export {
  costReportSchema,
  countEachSpendOnce,
  metricsStateSchema,
  originReportSchema,
  projectSessionReport,
  reportSource,
  sessionReport,
  sessionReportSchema,
  sessionRowSchema,
  sessionRows,
  statistics,
  statisticsReportSchema,
  versionRowSchema,
  versionRows,
} from './reports/index.ts';
export type {
  AgentEnvOptions,
  KnownSecret,
  SecretConfig,
  SecretListing,
  SecuritySpec,
  ToolApproval,
  Verdict,
} from './security/index.ts';
export {
  agentFolders,
  buildAgentEnv,
  collectSecrets,
  compileSecurityPolicy,
  inputDigest,
  parsePermissionRule,
  prepareAgentFolders,
  Redactor,
  sdkSecurityOptions,
  secretRedactor,
  withAgentTypeEnv,
} from './security/index.ts';
export type {
  EventStore,
  EventStoreConfig,
  OrchestratorStore,
  TranscriptStore,
  VersionStore,
} from './store/index.ts';
export { openEventStore } from './store/index.ts';
export type { CompiledWorkflow, SessionState, WorkflowDefinition, WorkflowState } from './workflow/index.ts';
export {
  defineWorkflow,
  loadWorkflowFile,
  parseWorkflow,
  replay,
  resolveInputs,
  workflowJsonSchema,
} from './workflow/index.ts';

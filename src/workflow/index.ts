/** The workflow area: definitions today; the engine will live beside them. */

export { normalizeApproval } from './approval.ts';
export type { EngineClock } from './clock.ts';
export { systemClock } from './clock.ts';
// ---- the engine -------------------------------------------------------------------------
export type { CompiledPlan, PlanAgentSpec, PlanFunctions, PlanOptions } from './compiled-plan.ts';
export { planFromCompiled, toAgentSpec } from './compiled-plan.ts';
export type {
  FailureDecision,
  OutcomeDecision,
  ReadyDecision,
  RecoveryDecision,
  StopReason,
} from './decide.ts';
export {
  compensationOrder,
  decideFailure,
  decideOutcome,
  decideReady,
  decideRecovered,
  decideRecovery,
  finalStatus,
  MAX_INTERRUPTIONS,
} from './decide.ts';
export type {
  AddNodesPolicyDefinition,
  AgentType,
  AgentTypeDefinition,
  AlertRuleDefinition,
  AlertScope,
  AlertSeverity,
  AlertsDefinition,
  AlertVariables,
  BudgetDefinition,
  CacheDefinition,
  CompensationDefinition,
  CompileAgentTypeOptions,
  CompiledAlertRule,
  CompiledAlerts,
  CompiledBudget,
  CompiledCompensation,
  CompiledCondition,
  CompiledGroup,
  CompiledInput,
  CompiledLimits,
  CompiledNode,
  CompiledNodeBudget,
  CompiledTemplate,
  CompiledWorkflow,
  CompileOptions,
  ConditionContext,
  ConditionReference,
  ConflictPolicy,
  DefinitionProblem,
  DurationInput,
  FailurePolicy,
  GraphChange,
  GraphChangeProblem,
  GraphNode,
  GraphPolicy,
  GraphPolicyDefinition,
  GraphView,
  GroupDefinition,
  InputDefinition,
  InputType,
  LimitsDefinition,
  McpServerDefinition,
  NodeBudgetDefinition,
  NodeDefinition,
  NodeKind,
  NodePriority,
  OutputDefinition,
  RenderOptions,
  ResolveInputsOptions,
  RetryOn,
  RetryPolicy,
  RetryPolicyDefinition,
  SkipNodesPolicyDefinition,
  TemplateContext,
  TemplatePart,
  TemplateReference,
  TriggerRule,
  WorkflowDefinition,
  WorkingDirectoryPolicy,
  WorkspaceMode,
} from './definition/index.ts';
export {
  ALERT_DEFAULTS,
  ALERT_FIGURES,
  agentTypeSchema,
  BUILT_IN_ALERT_RULES,
  BUILT_IN_NODE_KINDS,
  compileAgentType,
  compileAlertsValue,
  compileBudgetValue,
  compileWorkflow,
  DEFAULT_RETRY_POLICY,
  defineWorkflow,
  evaluateAlertExpression,
  evaluateCondition,
  findCycles,
  formatCycle,
  formatProblems,
  GRAPH_POLICY_DEFAULTS,
  loadWorkflowFile,
  MAX_DURATION_MS,
  NODE_PRIORITIES,
  PERMISSION_MODES,
  PROTECTED_NODE_KINDS,
  parseCondition,
  parseDuration,
  parseTemplate,
  parseWorkflow,
  renderTemplate,
  resolveInputs,
  retryDelayMs,
  topologicalOrder,
  upstreamOf,
  validateGraphChange,
  WORKFLOW_DEFAULTS,
  workflowJsonSchema,
  workflowSchema,
} from './definition/index.ts';
export { WorkflowRun } from './engine.ts';
export type { AgentExecutorOptions } from './executors.ts';
export {
  agentExecutor,
  approvalExecutor,
  functionExecutor,
  humanExecutor,
} from './executors.ts';
export type { GraphActor, GraphChangeView, GraphDecision } from './graph-decisions.ts';
export {
  AGENT_NODE_FIELDS,
  decideAddNodes,
  decideSkipNodes,
  protectedDownstream,
} from './graph-decisions.ts';
export type { GraphChangeOptions } from './graph-gate.ts';
export { checkMemoryValue } from './limits.ts';
export type {
  InputRequestOptions,
  NodeContext,
  NodeExecutor,
  NodeOutcome,
  NodeRetryPolicy,
  NodeRunContext,
  PlanNode,
  Slot,
  SlotSource,
  WorkflowPlan,
} from './plan.ts';
export { buildAgentPrompt, HANDOVER_CHARS, shareRoom } from './prompt.ts';
export type { CachedResult } from './result-cache.ts';
export { cacheKey, ResultCache } from './result-cache.ts';
export type { RunPhase, WorkflowRunOptions } from './run-options.ts';
export type { ClassLimits, NodeClass, SchedulableNode, TriggerVerdict } from './scheduler.ts';
export { AdmissionQueue, DependencyTracker, evaluateTrigger } from './scheduler.ts';
export type {
  AgentSummary,
  ErrorInfo,
  InputRequest,
  NodeState,
  NodeStatus,
  PendingControl,
  SessionState,
  WorkflowState,
  WorkflowStatus,
} from './state.ts';
export {
  applyEvent,
  emptySessionState,
  isPendingNode,
  nodeIdsOf,
  pendingNode,
  replay,
  TERMINAL_NODE_STATUSES,
} from './state.ts';
export { cloneState } from './state-clone.ts';
export type { Held, StartingUp, StatusOf, UpcomingCandidate, UpcomingNode } from './upcoming.ts';
export { upcomingNodes, upcomingStage } from './upcoming.ts';

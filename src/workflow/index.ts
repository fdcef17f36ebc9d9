/** The workflow area: definitions today; the engine will live beside them. */

// ---- the engine -------------------------------------------------------------------------
export type { CompiledPlan, PlanAgentSpec, PlanFunctions, PlanOptions } from './compiled-plan.ts';
export { planFromCompiled, toAgentSpec } from './compiled-plan.ts';
export type {
  AgentType,
  AgentTypeDefinition,
  CacheDefinition,
  CompensationDefinition,
  CompileAgentTypeOptions,
  CompiledCompensation,
  CompiledCondition,
  CompiledGroup,
  CompiledInput,
  CompiledNode,
  CompiledTemplate,
  CompiledWorkflow,
  CompileOptions,
  ConditionContext,
  ConditionReference,
  DefinitionProblem,
  DurationInput,
  FailurePolicy,
  GraphChange,
  GraphChangeProblem,
  GraphNode,
  GraphView,
  GroupDefinition,
  InputDefinition,
  InputType,
  LimitsDefinition,
  McpServerDefinition,
  NodeDefinition,
  NodeKind,
  OutputDefinition,
  RenderOptions,
  ResolveInputsOptions,
  RetryOn,
  RetryPolicy,
  RetryPolicyDefinition,
  TemplateContext,
  TemplatePart,
  TemplateReference,
  TriggerRule,
  WorkflowDefinition,
  WorkingDirectoryPolicy,
  WorkspaceMode,
} from './definition/index.ts';
export {
  agentTypeSchema,
  BUILT_IN_NODE_KINDS,
  compileAgentType,
  compileWorkflow,
  DEFAULT_RETRY_POLICY,
  defineWorkflow,
  evaluateCondition,
  findCycles,
  formatCycle,
  formatProblems,
  loadWorkflowFile,
  MAX_DURATION_MS,
  PERMISSION_MODES,
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
export type { WorkflowRunOptions } from './engine.ts';
export { WorkflowRun } from './engine.ts';
export type { AgentExecutorOptions } from './executors.ts';
export {
  agentExecutor,
  approvalExecutor,
  buildAgentPrompt,
  functionExecutor,
  humanExecutor,
  normalizeApproval,
} from './executors.ts';
export type {
  NodeContext,
  NodeExecutor,
  NodeOutcome,
  NodeRetryPolicy,
  NodeRunContext,
  PlanNode,
  WorkflowPlan,
} from './plan.ts';
export type { CachedResult } from './result-cache.ts';
export { cacheKey, canonicalJson, ResultCache } from './result-cache.ts';
export type { SchedulableNode, TriggerVerdict } from './scheduler.ts';
export { AdmissionQueue, DependencyTracker, evaluateTrigger } from './scheduler.ts';
export type {
  AgentSummary,
  ErrorInfo,
  InputRequest,
  NodeState,
  NodeStatus,
  SessionState,
  WorkflowState,
  WorkflowStatus,
} from './state.ts';
export { applyEvent, emptySessionState, replay, TERMINAL_NODE_STATUSES } from './state.ts';

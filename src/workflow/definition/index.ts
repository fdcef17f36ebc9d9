/**
 * Workflow definitions: the YAML/TypeScript format, its validation with positioned problems,
 * the compiled form the engine runs, templates, conditions and pure graph helpers.
 */

export type {
  AgentType,
  AgentTypeDefinition,
  CompileAgentTypeOptions,
  McpServerDefinition,
  WorkingDirectoryPolicy,
} from './agent-type.ts';
export { agentTypeSchema, compileAgentType, PERMISSION_MODES } from './agent-type.ts';
export type { AlertVariables } from './alert-expressions.ts';
export { ALERT_FIGURES, evaluateAlertExpression } from './alert-expressions.ts';
export type {
  AlertRuleDefinition,
  AlertScope,
  AlertSeverity,
  AlertsDefinition,
  BudgetDefinition,
  CompiledAlertRule,
  CompiledAlerts,
  CompiledBudget,
} from './alerts.ts';
export { ALERT_DEFAULTS, BUILT_IN_ALERT_RULES, compileAlertsValue, compileBudgetValue } from './alerts.ts';
export type { CompileOptions } from './compile.ts';
export { compileWorkflow } from './compile.ts';
export type {
  CompiledCompensation,
  CompiledGroup,
  CompiledInput,
  CompiledLimits,
  CompiledNode,
  CompiledNodeBudget,
  CompiledWorkflow,
} from './compiled.ts';
export type { CompiledCondition, ConditionContext, ConditionReference } from './condition.ts';
export { evaluateCondition, parseCondition } from './condition.ts';
export type { DurationInput } from './duration.ts';
export { MAX_DURATION_MS, parseDuration } from './duration.ts';
export type { GraphChange, GraphChangeProblem, GraphNode, GraphView } from './graph.ts';
export { findCycles, formatCycle, topologicalOrder, upstreamOf, validateGraphChange } from './graph.ts';
export type {
  AddNodesPolicyDefinition,
  GraphPolicy,
  GraphPolicyDefinition,
  SkipNodesPolicyDefinition,
} from './graph-policy.ts';
export { GRAPH_POLICY_DEFAULTS, PROTECTED_NODE_KINDS } from './graph-policy.ts';
export type { ResolveInputsOptions } from './inputs.ts';
export { resolveInputs } from './inputs.ts';
export { workflowJsonSchema } from './json-schema.ts';
export { defineWorkflow, loadWorkflowFile, parseWorkflow } from './load.ts';
export type { DefinitionProblem } from './problems.ts';
export { formatProblems } from './problems.ts';
export type { RetryOn, RetryPolicy, RetryPolicyDefinition } from './retry.ts';
export { DEFAULT_RETRY_POLICY, retryDelayMs } from './retry.ts';
export { BUILT_IN_NODE_KINDS, NODE_PRIORITIES, WORKFLOW_DEFAULTS, workflowSchema } from './schema.ts';
export type {
  CompiledTemplate,
  RenderOptions,
  TemplateContext,
  TemplatePart,
  TemplateReference,
} from './template.ts';
export { parseTemplate, renderTemplate } from './template.ts';
export type {
  CacheDefinition,
  CompensationDefinition,
  ConflictPolicy,
  FailurePolicy,
  GroupDefinition,
  InputDefinition,
  InputType,
  LimitsDefinition,
  NodeBudgetDefinition,
  NodeDefinition,
  NodeKind,
  NodePriority,
  OutputDefinition,
  TriggerRule,
  WorkflowDefinition,
  WorkspaceMode,
} from './types.ts';

/**
 * The compiled workflow the engine runs: defaults applied, names resolved, templates and
 * conditions parsed, durations in milliseconds, graph indexed, everything deeply frozen.
 * Plain data apart from being frozen, so it can be stored with a session and sent as JSON.
 */
import type { AgentType } from './agent-type.ts';
import type { CompiledAlerts, CompiledBudget } from './alerts.ts';
import type { CompiledCondition } from './condition.ts';
import type { RetryPolicy } from './retry.ts';
import type { CompiledTemplate } from './template.ts';
import type {
  ConflictPolicy,
  FailurePolicy,
  InputType,
  NodeKind,
  TriggerRule,
  WorkflowDefinition,
  WorkspaceMode,
} from './types.ts';

/** A compiled input. */
export interface CompiledInput {
  readonly name: string;
  readonly type: InputType;
  /** The default value, or undefined when there is none. */
  readonly default: unknown;
  /** Must a run give a value (false when a default exists unless stated otherwise). */
  readonly required: boolean;
  readonly description: string | undefined;
}

/** A compiled parallel group. */
export interface CompiledGroup {
  readonly name: string;
  /** Most nodes of the group running at once. */
  readonly concurrency: number;
  readonly description: string | undefined;
}

/** A compiled compensation task. */
export interface CompiledCompensation {
  readonly task: CompiledTemplate;
  /** The agent type that runs it. */
  readonly agent: AgentType;
}

/** A compiled node. */
export interface CompiledNode {
  readonly id: string;
  /** Position in the file's node list. */
  readonly index: number;
  readonly kind: NodeKind;
  readonly description: string | undefined;
  /** The resolved agent type (agent nodes; plugin kinds when they name one). */
  readonly agent: AgentType | undefined;
  /** The task template (agent nodes). */
  readonly task: CompiledTemplate | undefined;
  /** The prompt template (human and approval nodes). */
  readonly prompt: CompiledTemplate | undefined;
  /** Direct dependencies, in the order written. */
  readonly dependsOn: readonly string[];
  /** Nodes that list this one in `dependsOn`, in file order. */
  readonly dependents: readonly string[];
  readonly group: string | undefined;
  /** Evaluated with `evaluateCondition` when the node is ready; false skips it. */
  readonly condition: CompiledCondition | undefined;
  readonly trigger: TriggerRule;
  /** The node's retry policy, else its agent type's, else one attempt. */
  readonly retry: RetryPolicy;
  /** Limit of one attempt: the node's timeout, else its agent type's, else none. */
  readonly timeoutMs: number | undefined;
  /** JSON Schema of a structured output, when required. */
  readonly outputSchema: Readonly<Record<string, unknown>> | undefined;
  /** Output caching, when enabled. */
  readonly cache: { readonly ttlMs: number } | undefined;
  readonly compensation: CompiledCompensation | undefined;
  readonly workspace: WorkspaceMode;
  /** What a merge conflict does when the node works in a worktree: the node's, else the workflow's. */
  readonly onConflict: ConflictPolicy;
  /** The upstream agent node whose conversation this node's agent carries on, if any. */
  readonly session: { readonly from: string; readonly fork: boolean } | undefined;
  /** Settings of a plugin node kind. */
  readonly params: Readonly<Record<string, unknown>> | undefined;
  /** Hard limits of the node's model spend, over its attempts; undefined when it states none. */
  readonly budget: CompiledNodeBudget | undefined;
  /** Its model requests' place in the gateway's queue: higher goes first (`high` 1, `normal` 0, `low` -1). */
  readonly priority: number;
}

/** A node's budget, compiled: each limit, or undefined for none. */
export interface CompiledNodeBudget {
  readonly usd: number | undefined;
  readonly tokens: number | undefined;
}

/** The limits of a run, defaults applied (see `LimitsDefinition`). */
export interface CompiledLimits {
  readonly maxNodes: number;
  readonly maxAddedNodes: number;
  readonly maxMemoryValueBytes: number;
  readonly maxPromptChars: number;
}

/** A compiled workflow, ready for the engine. */
export interface CompiledWorkflow {
  /** The file it was loaded from, or `<inline>`. */
  readonly file: string;
  readonly name: string;
  readonly description: string | undefined;
  /** The version, as text. */
  readonly version: string | undefined;
  readonly inputs: Readonly<Record<string, CompiledInput>>;
  /** Every agent type the workflow defines or its nodes name. */
  readonly agents: Readonly<Record<string, AgentType>>;
  readonly groups: Readonly<Record<string, CompiledGroup>>;
  /**
   * Most nodes running at once, agents and others together, when the workflow sets it;
   * undefined: only the orchestrator's caps (`ORCHESTRATOR_MAX_AGENTS` for agent nodes,
   * `ORCHESTRATOR_MAX_NODES` for the others).
   */
  readonly concurrency: number | undefined;
  readonly onFailure: FailurePolicy;
  readonly rollback: boolean;
  /** What a merge conflict of an isolated node does, for nodes that do not say. */
  readonly onConflict: ConflictPolicy;
  /** Default cache of nodes with `cache: true`. */
  readonly cache: { readonly ttlMs: number } | undefined;
  readonly limits: CompiledLimits;
  /** The workflow's own alert settings (the global ones apply besides). */
  readonly alerts: CompiledAlerts | undefined;
  /** The workflow's own cost limits (the global ones apply besides; the lower wins). */
  readonly budget: CompiledBudget | undefined;
  /** Nodes by id (a null-prototype record: ids such as `constructor` are safe). */
  readonly nodes: Readonly<Record<string, CompiledNode>>;
  /** Node ids in file order. */
  readonly nodeIds: readonly string[];
  /** Node id -> its direct dependencies. */
  readonly dependencies: Readonly<Record<string, readonly string[]>>;
  /** Node id -> the nodes that depend on it directly. */
  readonly dependents: Readonly<Record<string, readonly string[]>>;
  /** A topological order (dependencies first; ties in file order). */
  readonly topologicalOrder: readonly string[];
  /** Nodes without dependencies, in file order. */
  readonly roots: readonly string[];
  /** The validated definition as written, kept to recompile after a graph change and to store with a session. */
  readonly definition: Readonly<WorkflowDefinition>;
}

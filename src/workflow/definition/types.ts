/**
 * The workflow format as users write it (YAML or TypeScript): loose, every field documented
 * with its default. `schema.ts` validates it; `compile.ts` turns it into `CompiledWorkflow`.
 */
import type { AgentTypeDefinition } from './agent-type.ts';
import type { AlertsDefinition, BudgetDefinition } from './alerts.ts';
import type { DurationInput } from './duration.ts';
import type { RetryPolicyDefinition } from './retry.ts';

/** Types an input can have; `object` is a JSON object, `array` a JSON array. */
export type InputType = 'string' | 'number' | 'boolean' | 'object' | 'array';

/** One input of a workflow, filled in when a run starts. */
export interface InputDefinition {
  /** The value's type. */
  type: InputType;
  /** The value used when a run gives none; must have the declared type. @default none */
  default?: unknown;
  /** Must a run give a value. @default true when there is no `default`, else false */
  required?: boolean;
  /** What the input means. */
  description?: string;
}

/**
 * What a node does. `agent` runs an agent on `task`. `human` asks a person `prompt` and
 * its output is the answer (text, or an object matching `output.schema`). `approval` asks
 * a person to approve or reject `prompt`: its output is `{ approved, comment }`, and a
 * rejection fails the node. Plugins add more kinds (see `CompileOptions.nodeKinds`).
 */
export type NodeKind = 'agent' | 'human' | 'approval' | (string & {});

/**
 * When a node may run, given how its dependencies ended. `all_success`: every dependency
 * succeeded (a skipped or failed one skips this node). `all_done`: every dependency finished,
 * however. `none_failed`: no dependency failed (succeeded or skipped).
 */
export type TriggerRule = 'all_success' | 'all_done' | 'none_failed';

/** What a failed node does to the run: `fail_fast` stops starting nodes, `continue` runs whatever does not depend on it. */
export type FailurePolicy = 'fail_fast' | 'continue';

/** Where a node's agent works: `shared` = the session workspace, `isolated` = its own git worktree. */
export type WorkspaceMode = 'shared' | 'isolated';

/**
 * What an isolated node does when its changes conflict with the session workspace. Either way
 * nothing is written into the workspace and the node's branch and worktree are kept. `pause`:
 * the merge is started in the node's worktree and the session asks a human (an approval
 * question naming the files, the worktree and the branch) to resolve it there or in the
 * workspace; once approved the merge is tried again, and rejected the node fails. `fail`: the
 * node fails at once with `MERGE_CONFLICT`.
 */
export type ConflictPolicy = 'pause' | 'fail';

/** Caching of a node's output: a run with the same task and inputs within `ttl` reuses it. */
export interface CacheDefinition {
  /** How long a cached output stays valid. */
  ttl: DurationInput;
}

/** Structured output: the agent must answer with an object matching `schema`. */
export interface OutputDefinition {
  /** A JSON Schema whose root is `type: object`. */
  schema: Record<string, unknown>;
}

/** The task that undoes a node when the run rolls back. */
export interface CompensationDefinition {
  /** Template of the compensation task (may read the node's own output). */
  task: string;
  /** Agent that runs it. @default the node's own agent */
  agent?: string;
}

/**
 * Conversation continuity: the node's agent starts from the conversation (the SDK session) of
 * the agent of an upstream agent node, so it knows what was said and done there.
 */
export interface SessionContinuation {
  /** Id of an upstream agent node (a dependency, direct or not). Both must work in the shared workspace. */
  from: string;
  /** Branch a new session with the same history instead of continuing the same one. @default false */
  fork?: boolean;
}

/**
 * Hard limits of one node's model spend, over all its attempts, enforced per model request by
 * the model gateway (before a request is forwarded, what it can cost at most is reserved; a
 * request that does not fit is refused and the node fails with `BUDGET_EXHAUSTED`). Without
 * the gateway (`ORCHESTRATOR_GATEWAY=off`) nothing enforces them.
 */
export interface NodeBudgetDefinition {
  /** US dollars the node may spend. @default no limit */
  usd?: number;
  /** Tokens the node may use: input (cache reads and writes included) plus output, as the API counts them. @default no limit */
  tokens?: number;
}

/**
 * Where a node's model requests go in the gateway's queue when rate limits make requests wait:
 * `high` (1), `normal` (0), `low` (-1), or a number from -100 to 100; higher goes first, and
 * within one priority requests take turns by session, first come first served within one.
 */
export type NodePriority = 'low' | 'normal' | 'high' | number;

/** One step of a workflow. */
export interface NodeDefinition {
  /** Unique id: a letter, then letters, digits, `_` or `-`. */
  id: string;
  /** What the node does. @default 'agent' */
  kind?: NodeKind;
  /** What the step is for, shown in the dashboard. */
  description?: string;
  /** Name of the agent type that runs the task (`agents` key or a registered type); agent nodes only. */
  agent?: string;
  /** The task, a template: `{{ inputs.NAME }}`, `{{ nodes.ID.output }}`, `{{ nodes.ID.output.field }}`, `{{ session.workspace }}`. Agent nodes only. */
  task?: string;
  /** The question or the thing to approve, a template like `task`; human and approval nodes only. */
  prompt?: string;
  /** Ids of nodes that must finish first (see `trigger`). @default [] */
  dependsOn?: string[];
  /** Parallel group whose concurrency limit this node counts against. @default none */
  group?: string;
  /** CEL expression over `inputs` and `nodes.ID.output` / `nodes.ID.status` of upstream nodes; false skips the node. @default always run */
  condition?: string;
  /** How dependencies' outcomes decide whether this node runs. @default 'all_success' */
  trigger?: TriggerRule;
  /** Retry policy. @default the agent type's, else one attempt */
  retry?: RetryPolicyDefinition;
  /** Longest time one attempt may take: '10m', '1h30m' or milliseconds. @default the agent type's, else none */
  timeout?: DurationInput;
  /** Structured output required from the agent. @default text output */
  output?: OutputDefinition;
  /** Reuse a recent output: `true` uses the workflow's `cache.ttl`. @default false */
  cache?: boolean | CacheDefinition;
  /** Task run on rollback to undo this node: a template, or `{ task, agent }`. @default none */
  compensation?: string | CompensationDefinition;
  /** Workspace of the node's agent. @default 'isolated' when the agent type's workingDirectory is 'isolated', else 'shared' */
  workspace?: WorkspaceMode;
  /** When the node works in an isolated worktree: what a merge conflict with the workspace does. Agent nodes only. @default the workflow's `onConflict` */
  onConflict?: ConflictPolicy;
  /** Carry on (or fork) the conversation of an upstream agent node's agent. Agent nodes only. @default none */
  session?: SessionContinuation;
  /** Settings of a plugin node kind, checked by the plugin. @default none */
  params?: Record<string, unknown>;
  /** Hard limits of the node's model spend, over its attempts (agent nodes). @default none */
  budget?: NodeBudgetDefinition;
  /** Where the node's model requests go in the gateway's queue under rate limits (agent nodes). @default 'normal' */
  priority?: NodePriority;
}

/** A parallel group: nodes that share a concurrency limit. */
export interface GroupDefinition {
  /** Most nodes of the group running at once. */
  concurrency: number;
  /** What the group is for. */
  description?: string;
}

/** Limits of a run: graph growth, memory values, prompt size. Each refusal names its limit. */
export interface LimitsDefinition {
  /** Most nodes the workflow may have, counting nodes agents add. @default 200 */
  maxNodes?: number;
  /** Most nodes added at run time over a run, by agents and operators together (0: none). @default 100 */
  maxAddedNodes?: number;
  /** Largest value an agent may store with `memory_set`, in bytes of its JSON. @default 65536 */
  maxMemoryValueBytes?: number;
  /**
   * Longest prompt an agent node gets, in characters: its task plus the results of its
   * dependencies, which share what the task leaves (each is cut with a marker). A task alone
   * over the limit fails the node with `LIMIT_EXCEEDED`. @default 200000
   */
  maxPromptChars?: number;
}

/** A workflow: agent types, inputs and a graph of nodes. */
export interface WorkflowDefinition {
  /** JSON Schema of the file, for editors (`orchestrator schema` prints it); ignored by the loader. */
  $schema?: string;
  /** Name: a letter, then letters, digits, `_` or `-`. */
  name: string;
  /** What the workflow does. */
  description?: string;
  /** Version of this definition, for the reader and for stored sessions. @default none */
  version?: string | number;
  /** Inputs by name (identifiers, so `inputs.NAME` works everywhere). @default {} */
  inputs?: Record<string, InputDefinition>;
  /** Agent types by name. @default {} */
  agents?: Record<string, AgentTypeDefinition>;
  /** Parallel groups by name. @default {} */
  groups?: Record<string, GroupDefinition>;
  /**
   * Most nodes running at once in a run, agents and others together.
   * @default none: agent nodes are held to `ORCHESTRATOR_MAX_AGENTS` (4), the others to `ORCHESTRATOR_MAX_NODES` (64)
   */
  concurrency?: number;
  /** What a failed node does to the run. @default 'fail_fast' */
  onFailure?: FailurePolicy;
  /** What a merge conflict of an isolated node does, for nodes that do not say. @default 'pause' */
  onConflict?: ConflictPolicy;
  /** Run compensation tasks, newest first, when the run fails. @default false */
  rollback?: boolean;
  /** Default cache for nodes that opt in with `cache: true`. @default none */
  cache?: CacheDefinition;
  /** Limits of a run: graph growth, memory values, prompt size. @default see {@link LimitsDefinition} */
  limits?: LimitsDefinition;
  /** Alert thresholds and custom rules, on top of the global ones. @default none */
  alerts?: AlertsDefinition;
  /** Hard cost limits, on top of the global ones (the lower limit wins). @default none */
  budget?: BudgetDefinition;
  /** The nodes, at least one. */
  nodes: NodeDefinition[];
}

import type { OrchestratorError } from '../errors/index.ts';
import type { CompiledLimits } from './definition/compiled.ts';
import type { GraphPolicy } from './definition/graph-policy.ts';
import type { SchedulableNode } from './scheduler.ts';
import type { WorkflowState } from './state.ts';

/** Values templates and conditions may read when a node becomes ready. */
export interface NodeContext {
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Upstream nodes by id: their status and output. */
  readonly nodes: Readonly<
    Record<
      string,
      {
        readonly status: string;
        readonly output?: unknown;
        readonly error?: { readonly code: string; readonly message: string };
      }
    >
  >;
  readonly session: { readonly id: string; readonly workspace: string };
}

/** Retry policy of a node, compiled (durations in ms). */
export interface NodeRetryPolicy {
  /** Total attempts including the first. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Error codes that may be retried; `undefined` = those whose error says it is retryable. */
  readonly on: readonly string[] | undefined;
}

/** A node as the engine runs it: scheduling facts plus compiled templates and conditions. */
export interface PlanNode extends SchedulableNode {
  /** `agent`, `human`, `approval`, `function`, or a kind a plugin added. */
  readonly kind: string;
  /** Agent type name, for agent nodes. */
  readonly agent: string | undefined;
  readonly retry: NodeRetryPolicy;
  readonly timeoutMs: number | undefined;
  /** JSON Schema the node's output must match (structured output). */
  readonly outputSchema: Record<string, unknown> | undefined;
  /** Result cache time-to-live; undefined = no caching. */
  readonly cacheTtlMs: number | undefined;
  /** `isolated` runs the node in its own git worktree, merged back on success. */
  readonly workspace: 'shared' | 'isolated';
  /**
   * What a merge conflict of an isolated node does: `pause` asks a human and merges again once
   * approved, `fail` fails the node; either way its branch and worktree are kept.
   */
  readonly onConflict: 'pause' | 'fail';
  /** Carry on (or fork) the conversation of this upstream node's agent. */
  readonly session?: { readonly from: string; readonly fork: boolean } | undefined;
  /** Hard limits of the node's model spend over its attempts, enforced per request by the model gateway. */
  readonly budget?: { readonly usd: number | undefined; readonly tokens: number | undefined } | undefined;
  /** Its agents' place in the model gateway's queue under rate limits: higher goes first. @default 0 */
  readonly priority?: number | undefined;
  /** The task (agent nodes) or the question (human and approval nodes), rendered. */
  renderTask(context: NodeContext): string;
  /** Whether the node runs; undefined = no condition. */
  evaluateCondition: ((context: NodeContext) => boolean) | undefined;
  /** The compensation task, for rollback; undefined = nothing to undo. */
  renderCompensation: ((context: NodeContext) => string) | undefined;
  /** Agent type of the compensation task. */
  readonly compensationAgent: string | undefined;
  /** For `function` nodes of TypeScript workflows: the code to run. */
  readonly run: ((context: NodeContext & { signal: AbortSignal }) => unknown) | undefined;
}

/** A compiled workflow as the engine sees it. */
export interface WorkflowPlan {
  readonly name: string;
  /** Nodes running at once in this workflow, all classes together (`Infinity`: no such cap). */
  readonly concurrency: number;
  /** Per parallel group: nodes of the group running at once. */
  readonly groupLimits: ReadonlyMap<string, number>;
  readonly onFailure: 'fail_fast' | 'continue';
  readonly rollback: boolean;
  /** Maximum number of nodes after run-time additions. */
  readonly maxNodes: number;
  /** The run's limits (graph growth, memory values, prompt size). */
  readonly limits: CompiledLimits;
  /** Nodes in the plan, those added at run time included. */
  readonly size: number;
  /** Nodes added at run time (by this plan and the additions it was rebuilt with). */
  readonly addedCount: number;
  /**
   * Whether an agent type may change the graph, and its policy; undefined for a type the plan
   * does not know.
   */
  agentType?(
    name: string,
  ): { readonly canModifyWorkflow: boolean; readonly graph: GraphPolicy | undefined } | undefined;
  node(id: string): PlanNode | undefined;
  nodes(): Iterable<PlanNode>;
  /**
   * Compiles and validates nodes added at run time (acyclic, known dependencies and agents,
   * within `limits.maxNodes` and `limits.maxAddedNodes`; nodes named in a new node's
   * `requiredBy` must not have started) and returns the plan that includes them; the original
   * is unchanged. Without `state` (replaying changes already recorded) the checks against the
   * run's state and the growth limits are left out.
   * @throws OrchestratorError `MODIFICATION_REJECTED`
   */
  withAddedNodes(nodes: readonly unknown[], state: WorkflowState | undefined): this;
}

/** How a node attempt ended. */
export type NodeOutcome =
  | {
      readonly ok: true;
      readonly output: unknown;
      readonly agentId?: string | undefined;
      /** Set when the output was reused from the result cache. */
      readonly cached?: boolean;
      readonly cacheKey?: string;
    }
  | { readonly ok: false; readonly error: OrchestratorError; readonly agentId?: string | undefined };

/** Options of {@link NodeRunContext.requestInput}. */
export interface InputRequestOptions {
  /** The agent asking (its questions are told apart from the node's own). */
  readonly agentId?: string | undefined;
  /**
   * Unanswered after this long, the question is closed (`input.closed`) and the request
   * rejects with `INPUT_TIMEOUT`. @default no limit
   */
  readonly timeoutMs?: number | undefined;
  /** Aborted when the asker stops waiting: the question is closed and the request rejects. */
  readonly signal?: AbortSignal | undefined;
}

/** What an executor gets for one attempt of a node. */
export interface NodeRunContext extends NodeContext {
  readonly workflowId: string;
  readonly node: PlanNode;
  readonly attempt: number;
  /** Aborted on cancel, pause with interrupt, or timeout; its `reason` says which. */
  readonly signal: AbortSignal;
  /** The rendered task. */
  readonly task: string;
  /**
   * Asks a human; durable: after a restart the same open request is awaited again. Rejects at
   * once, asking nothing, when the node was stopped.
   */
  requestInput(kind: 'input' | 'approval', prompt: string, options?: InputRequestOptions): Promise<unknown>;
  /**
   * Call after every await of an executor's start path (cache read, worktree, ...): throws
   * when the node was stopped meanwhile, so that no effect starts after a cancel, pause,
   * suspend or timeout. `point` names the place (tests inject stops by it).
   */
  checkpoint(point: string): void;
  /** The agent process slot the engine reserved for this attempt (executors with `slots`). */
  readonly slot?: Slot | undefined;
}

/** A reserved place among the agent processes allowed at once. Releasing twice is harmless. */
export interface Slot {
  release(): void;
}

/** Where an executor's attempts get their process slots (the agent runtime's cap). */
export interface SlotSource {
  /** A slot now, or undefined when all are taken. */
  tryAcquire(): Slot | undefined;
  /** Waits (first come, first served) for a slot; rejects when `signal` aborts. */
  acquire(signal: AbortSignal): Promise<Slot>;
}

/**
 * Runs one kind of node. `external` executors have side effects outside the log (agents,
 * humans): their `node.started` is committed before they begin, so a crash never hides a
 * side effect that already happened.
 */
export interface NodeExecutor {
  readonly external: boolean;
  /**
   * Process slots this kind of node needs: the engine reserves one before `node.started`, and
   * records the node `queued` while it waits, so its timeout and duration exclude the wait.
   */
  readonly slots?: SlotSource | undefined;
  run(context: NodeRunContext): Promise<NodeOutcome>;
  /**
   * Finishes an attempt whose work is already durable (its agent's result was recorded before
   * the process ended): whatever followed the work (merging a worktree) is checked and done,
   * with no new model call. Without it, the recorded output completes the node as it is.
   */
  recover?(
    context: NodeRunContext,
    result: { readonly agentId: string; readonly output: unknown },
  ): Promise<NodeOutcome>;
}

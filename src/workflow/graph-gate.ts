import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import { inputDigest } from '../security/index.ts';
import { compileGraphPolicy } from './definition/graph-policy.ts';
import { decideAddNodes, decideSkipNodes, type GraphActor, type GraphDecision } from './graph-decisions.ts';
import type { WorkflowPlan } from './plan.ts';
import { notStarted, type SessionState, type WorkflowState } from './state.ts';

/** Options of `WorkflowRun.addNodes` and `WorkflowRun.skipNodes`. */
export interface GraphChangeOptions {
  /** The type of the agent asking (`by` = `agent:<id>`). @default the type the session's log gives that agent */
  readonly agentType?: string | undefined;
}

/** What the gate needs of its run. */
export interface GraphGateContext {
  session(): SessionState;
  workflow(): WorkflowState;
  /** Records an event of the run (applied to the state at once, appended in order). */
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): void;
}

/** The tool names under which agents ask for graph changes, as audit events name them. */
const ADD_TOOL = 'mcp__orchestrator__add_nodes';
const SKIP_TOOL = 'mcp__orchestrator__skip_nodes';

/** The policy of an agent whose type the plan does not know. */
const DEFAULT_GRAPH_POLICY = compileGraphPolicy(undefined);

/**
 * The door every run-time graph change goes through before the engine acts on it: who asks
 * (an agent, held to its type's graph policy, or an operator), the decision
 * (`graph-decisions.ts`), the structural check of an addition (the plan's `withAddedNodes`),
 * and for an agent a `security.decision` event, allowed or refused, recorded in the same
 * turn as the change itself (or in place of it).
 */
export class GraphGate {
  readonly #c: GraphGateContext;

  constructor(context: GraphGateContext) {
    this.#c = context;
  }

  /**
   * Admits an addition: returns the plan that includes it, and the asking agent's type.
   * @throws OrchestratorError `MODIFICATION_REJECTED` (an agent's refusal recorded first)
   */
  admitAdd<P extends WorkflowPlan>(
    plan: P,
    nodes: readonly unknown[],
    by: string,
    options: GraphChangeOptions,
  ): { plan: P; agentType: string | undefined } {
    const actor = this.#actor(plan, by, options.agentType);
    const input = { nodes };
    const decision = decideAddNodes(actor, nodes, plan, this.#c.workflow());
    if (!decision.allowed) throw this.#refuse(actor, ADD_TOOL, decision, input);
    let next: P;
    try {
      next = plan.withAddedNodes(nodes, this.#c.workflow());
    } catch (error) {
      const reason = toOrchestratorError(error).message;
      throw this.#refuse(actor, ADD_TOOL, { allowed: false, rule: 'definition', reason }, input, error);
    }
    this.#audit(actor, ADD_TOOL, decision, input);
    return { plan: next, agentType: actor.kind === 'agent' ? actor.agentType : undefined };
  }

  /**
   * Admits skipping nodes that have not started; returns the asking agent's type.
   * @throws OrchestratorError `MODIFICATION_REJECTED` (an agent's refusal recorded first)
   */
  admitSkip(
    plan: WorkflowPlan,
    ids: readonly string[],
    reason: string,
    by: string,
    options: GraphChangeOptions,
  ): { agentType: string | undefined } {
    const actor = this.#actor(plan, by, options.agentType);
    const input = { ids, reason };
    const wf = this.#c.workflow();
    for (const id of ids) {
      const status = wf.nodes[id]?.status;
      if (!notStarted(wf.nodes[id])) {
        const why = `cannot skip node "${id}": it is ${status ?? 'unknown'}`;
        throw this.#refuse(actor, SKIP_TOOL, { allowed: false, rule: 'state', reason: why }, input);
      }
    }
    const decision = decideSkipNodes(actor, ids, plan);
    if (!decision.allowed) throw this.#refuse(actor, SKIP_TOOL, decision, input);
    this.#audit(actor, SKIP_TOOL, decision, input);
    return { agentType: actor.kind === 'agent' ? actor.agentType : undefined };
  }

  /** Who `by` is: `agent:<id>` is an agent, held to its type's policy; anyone else is an operator. */
  #actor(plan: WorkflowPlan, by: string, agentType: string | undefined): GraphActor {
    if (!by.startsWith('agent:')) return { kind: 'operator', by };
    const agentId = by.slice('agent:'.length);
    const type = agentType ?? this.#c.session().agents[agentId]?.agentType;
    const spec = type === undefined ? undefined : plan.agentType?.(type);
    // A type the plan does not know (an agent of code embedding the engine) gets the defaults.
    const policy = spec ? (spec.canModifyWorkflow ? spec.graph : undefined) : DEFAULT_GRAPH_POLICY;
    return { kind: 'agent', by, agentId, agentType: type, policy };
  }

  /** Records an agent's decision (operators' changes are recorded as `workflow.modified` alone). */
  #audit(actor: GraphActor, tool: string, decision: GraphDecision, input: unknown): void {
    if (actor.kind !== 'agent') return;
    this.#c.record('security.decision', {
      agentId: actor.agentId,
      tool,
      decision: decision.allowed ? 'allow' : 'deny',
      by: 'policy',
      rule: decision.rule,
      reason: decision.reason,
      inputDigest: inputDigest(input),
    });
  }

  /** The error a refused change answers with; an agent's refusal is recorded first. */
  #refuse(
    actor: GraphActor,
    tool: string,
    decision: GraphDecision,
    input: unknown,
    cause?: unknown,
  ): OrchestratorError {
    this.#audit(actor, tool, decision, input);
    const error = cause === undefined ? undefined : toOrchestratorError(cause);
    return new OrchestratorError('MODIFICATION_REJECTED', error?.message ?? decision.reason, {
      cause,
      details: { ...error?.details, rule: decision.rule, by: actor.by },
    });
  }
}

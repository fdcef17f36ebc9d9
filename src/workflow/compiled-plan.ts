import type { AgentSpec } from '../agents/index.ts';
import { OrchestratorError } from '../errors/index.ts';
import type { AgentType } from './definition/agent-type.ts';
import type { CompiledNode, CompiledWorkflow } from './definition/compiled.ts';
import { evaluateCondition } from './definition/condition.ts';
import { extendWorkflow, factsOf, type NodeFacts } from './definition/extend.ts';
import type { GraphPolicy } from './definition/graph-policy.ts';
import { renderTemplate } from './definition/template.ts';
import type { NodeContext, PlanNode, WorkflowPlan } from './plan.ts';
import { notStarted } from './state.ts';

/** Code of `function` nodes by node id (TypeScript workflows). */
export type PlanFunctions = Readonly<Record<string, (context: NodeContext & { signal: AbortSignal }) => unknown>>;

/** An agent type as the runtime runs it, plus whether and how it may change the graph. */
export type PlanAgentSpec = AgentSpec & {
  readonly canModifyWorkflow: boolean;
  /** What it may change (`undefined` unless `canModifyWorkflow`). */
  readonly graph: GraphPolicy | undefined;
};

/** A {@link WorkflowPlan} that also resolves agent types by name. */
export interface CompiledPlan extends WorkflowPlan {
  /** The workflow as compiled at the start; nodes added at run time are in {@link WorkflowPlan.node} only. */
  readonly compiled: CompiledWorkflow;
  agentType(name: string): PlanAgentSpec | undefined;
}

/** Options of {@link planFromCompiled}. */
export interface PlanOptions {
  readonly functions?: PlanFunctions | undefined;
}

/** The plan's nodes and what additions are checked against; a new plan copies the maps. */
interface PlanGraph {
  readonly nodes: ReadonlyMap<string, PlanNode>;
  /**
   * Facts of every node, once a node has been added; a plan of the compiled workflow alone
   * makes them at its first addition (see {@link compiledFacts}).
   */
  readonly facts: ReadonlyMap<string, NodeFacts> | undefined;
  readonly added: number;
}

/**
 * The engine's view of a compiled workflow. Nodes added at run time are checked and compiled
 * on their own against the plan's facts about its nodes (`extendWorkflow`): the same checks as
 * a file (acyclic, known agents and dependencies, template references) before anything is
 * recorded, at a cost that does not grow with the graph. Plans are immutable: an addition
 * returns a new plan sharing the compiled nodes (its maps are copied: microseconds for a
 * thousand nodes, where compiling them again took milliseconds).
 */
export function planFromCompiled(compiled: CompiledWorkflow, options: PlanOptions = {}): CompiledPlan {
  const nodes = new Map<string, PlanNode>();
  for (const id of compiled.topologicalOrder)
    nodes.set(id, toPlanNode(compiled.nodes[id] as CompiledNode, options.functions));
  return makePlan(compiled, { nodes, facts: undefined, added: 0 }, options, new Map());
}

/**
 * The facts of a compiled workflow's nodes, which only an addition at run time reads: made
 * then, not at every start (a map of 10,000 entries and their facts cost ~5 ms per start).
 */
function compiledFacts(compiled: CompiledWorkflow): Map<string, NodeFacts> {
  const facts = new Map<string, NodeFacts>();
  for (const id of compiled.topologicalOrder) facts.set(id, factsOf(compiled.nodes[id] as CompiledNode));
  return facts;
}

function makePlan(
  compiled: CompiledWorkflow,
  graph: PlanGraph,
  options: PlanOptions,
  specs: Map<string, PlanAgentSpec>,
): CompiledPlan {
  const groupLimits = new Map(Object.values(compiled.groups).map((g) => [g.name, g.concurrency]));
  return {
    compiled,
    name: compiled.name,
    // No workflow-wide cap unless the workflow sets one: the run's class caps apply (see WorkflowRunOptions).
    concurrency: compiled.concurrency ?? Number.POSITIVE_INFINITY,
    groupLimits,
    onFailure: compiled.onFailure,
    rollback: compiled.rollback,
    maxNodes: compiled.limits.maxNodes,
    limits: compiled.limits,
    addedCount: graph.added,
    size: graph.nodes.size,
    node: (id) => graph.nodes.get(id),
    nodes: () => graph.nodes.values(),
    agentType(name) {
      const type = compiled.agents[name];
      if (!type) return undefined;
      let spec = specs.get(name);
      if (!spec) {
        spec = toAgentSpec(type);
        specs.set(name, spec);
      }
      return spec;
    },
    withAddedNodes(added, state) {
      const requests = added as Array<{ id?: unknown; requiredBy?: unknown }>;
      const requiredBy = new Map<string, string[]>();
      for (const node of requests) {
        if (typeof node?.id !== 'string')
          throw new OrchestratorError('MODIFICATION_REJECTED', 'every added node needs a string id');
        if (state?.nodes[node.id])
          throw new OrchestratorError('MODIFICATION_REJECTED', `node "${node.id}" already exists`);
        for (const target of Array.isArray(node.requiredBy) ? (node.requiredBy as unknown[]) : []) {
          if (typeof target !== 'string')
            throw new OrchestratorError('MODIFICATION_REJECTED', `requiredBy of "${node.id}" names a non-string`);
          const status = state?.nodes[target]?.status;
          if (state && !notStarted(state.nodes[target])) {
            throw new OrchestratorError(
              'MODIFICATION_REJECTED',
              `node "${node.id}" cannot be required by "${target}": it is ${status ?? 'unknown'}, not pending`,
            );
          }
          requiredBy.set(target, [...(requiredBy.get(target) ?? []), node.id]);
        }
      }
      // Recorded additions (a resumed run) were within the limits when they were accepted.
      if (state) checkGrowth(compiled, graph, added.length);
      // This plan's own copy (the extension only reads it; its new facts are added below).
      const facts = graph.facts ? new Map(graph.facts) : compiledFacts(compiled);
      const extension = extendWorkflow(
        { compiled, facts },
        requests.map(({ requiredBy: _requiredBy, ...node }) => node),
        requiredBy,
      );
      const nodes = new Map(graph.nodes);
      for (const node of extension.nodes) nodes.set(node.id, toPlanNode(node, options.functions));
      // Inserting before a node only adds to its dependencies: none it had is ever removed.
      for (const [id, dependsOn] of extension.dependsOn) {
        const node = nodes.get(id);
        if (node) nodes.set(id, { ...node, dependsOn });
      }
      for (const [id, fact] of extension.facts) facts.set(id, fact);
      return makePlan(compiled, { nodes, facts, added: graph.added + added.length }, options, specs) as never;
    },
  };
}

/** @throws OrchestratorError `MODIFICATION_REJECTED` when `count` more nodes exceed a growth limit */
function checkGrowth(compiled: CompiledWorkflow, graph: PlanGraph, count: number): void {
  const { maxNodes, maxAddedNodes } = compiled.limits;
  const total = graph.nodes.size + count;
  if (total > maxNodes) {
    throw new OrchestratorError(
      'MODIFICATION_REJECTED',
      `adding ${count} node(s) would make ${total}, over the workflow's limit of ${maxNodes} (limits.maxNodes)`,
      { details: { limit: 'limits.maxNodes', value: maxNodes } },
    );
  }
  if (graph.added + count > maxAddedNodes) {
    throw new OrchestratorError(
      'MODIFICATION_REJECTED',
      `adding ${count} node(s) would make ${graph.added + count} added at run time, over the workflow's limit of ${maxAddedNodes} (limits.maxAddedNodes)`,
      { details: { limit: 'limits.maxAddedNodes', value: maxAddedNodes } },
    );
  }
}

/**
 * A plan node's compiled parts, read by its methods through `this` (see {@link toPlanNode}); a
 * copy made by spreading (a node given a new dependency) keeps them.
 */
interface CompiledParts {
  readonly compiledTask: CompiledNode['task'];
  readonly compiledCondition: CompiledNode['condition'];
  readonly compiledCompensation: CompiledNode['compensation'];
}

// One function each for every node, not a closure per node (a function and its context, about
// 90 bytes, for each node of a 10,000-node run).
function renderTaskOf(this: CompiledParts, context: NodeContext): string {
  return this.compiledTask ? renderTemplate(this.compiledTask, context) : '';
}
function evaluateConditionOf(this: CompiledParts, context: NodeContext): boolean {
  return evaluateCondition(this.compiledCondition as NonNullable<CompiledNode['condition']>, context);
}
function renderCompensationOf(this: CompiledParts, context: NodeContext): string {
  return renderTemplate((this.compiledCompensation as NonNullable<CompiledNode['compensation']>).task, context);
}

function toPlanNode(node: CompiledNode, functions: PlanFunctions | undefined): PlanNode {
  const compensation = node.compensation;
  const condition = node.condition;
  const run = functions?.[node.id];
  const parts: PlanNode & CompiledParts = {
    id: node.id,
    kind: run ? 'function' : node.kind,
    agent: node.agent?.name,
    dependsOn: node.dependsOn,
    group: node.group,
    trigger: node.trigger,
    retry: node.retry,
    timeoutMs: node.timeoutMs,
    outputSchema: node.outputSchema as Record<string, unknown> | undefined,
    cacheTtlMs: node.cache?.ttlMs,
    workspace: node.workspace,
    onConflict: node.onConflict,
    session: node.session,
    budget: node.budget,
    priority: node.priority,
    compiledTask: node.task ?? node.prompt,
    compiledCondition: condition,
    compiledCompensation: compensation,
    renderTask: renderTaskOf,
    evaluateCondition: condition ? evaluateConditionOf : undefined,
    renderCompensation: compensation ? renderCompensationOf : undefined,
    compensationAgent: compensation?.agent.name,
    run,
  };
  return parts;
}

/** Maps a compiled agent type onto what the agent runtime needs. */
export function toAgentSpec(type: AgentType): PlanAgentSpec {
  const mcpServers: Record<string, NonNullable<AgentSpec['mcpServers']>[string]> = {};
  for (const [name, server] of Object.entries(type.mcpServers)) {
    const { timeout: _timeout, ...rest } = server as typeof server & { timeout?: number };
    mcpServers[name] = rest as NonNullable<AgentSpec['mcpServers']>[string];
  }
  return {
    name: type.name,
    systemPrompt: type.systemPrompt,
    model: type.model,
    tools: type.tools,
    disallowedTools: type.disallowedTools,
    permissions: type.permissions,
    sandbox: type.sandbox,
    confine: type.confine,
    permissionMode: type.permissionMode,
    maxTurns: type.maxTurns,
    maxBudgetUsd: type.maxBudgetUsd,
    mcpServers,
    timeoutMs: type.timeoutMs,
    canModifyWorkflow: type.canModifyWorkflow,
    ...(Object.keys(type.env).length > 0 && { env: type.env }),
    ...(type.passEnv.length > 0 && { passEnv: type.passEnv }),
    graph: type.graph,
  };
}

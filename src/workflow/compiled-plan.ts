import type { AgentSpec } from '../agents/index.ts';
import { OrchestratorError } from '../errors/index.ts';
import type { AgentType } from './definition/agent-type.ts';
import { compileWorkflow } from './definition/compile.ts';
import type { CompiledNode, CompiledWorkflow } from './definition/compiled.ts';
import { evaluateCondition } from './definition/condition.ts';
import { renderTemplate } from './definition/template.ts';
import type { NodeDefinition } from './definition/types.ts';
import type { NodeContext, PlanNode, WorkflowPlan } from './plan.ts';

/** Code of `function` nodes by node id (TypeScript workflows). */
export type PlanFunctions = Readonly<Record<string, (context: NodeContext & { signal: AbortSignal }) => unknown>>;

/** An agent type as the runtime runs it, plus whether it may change the graph. */
export type PlanAgentSpec = AgentSpec & { readonly canModifyWorkflow: boolean };

/** A {@link WorkflowPlan} that also resolves agent types by name. */
export interface CompiledPlan extends WorkflowPlan {
  readonly compiled: CompiledWorkflow;
  agentType(name: string): PlanAgentSpec | undefined;
}

/** Options of {@link planFromCompiled}. */
export interface PlanOptions {
  readonly functions?: PlanFunctions | undefined;
}

/**
 * The engine's view of a compiled workflow. Nodes added at run time are compiled with the
 * whole definition again, so they get the same checks as a file (acyclic, known agents and
 * dependencies, template references) before anything is recorded.
 */
export function planFromCompiled(compiled: CompiledWorkflow, options: PlanOptions = {}): CompiledPlan {
  const nodes = new Map<string, PlanNode>();
  for (const id of compiled.topologicalOrder)
    nodes.set(id, toPlanNode(compiled.nodes[id] as CompiledNode, options.functions));
  const specs = new Map<string, PlanAgentSpec>();
  const groupLimits = new Map(Object.values(compiled.groups).map((g) => [g.name, g.concurrency]));
  const plan: CompiledPlan = {
    compiled,
    name: compiled.name,
    concurrency: compiled.concurrency,
    groupLimits,
    onFailure: compiled.onFailure,
    rollback: compiled.rollback,
    maxNodes: compiled.limits.maxNodes,
    node: (id) => nodes.get(id),
    nodes: () => nodes.values(),
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
        for (const target of Array.isArray(node.requiredBy) ? (node.requiredBy as string[]) : []) {
          const status = state?.nodes[target]?.status;
          if (state && status !== 'pending') {
            throw new OrchestratorError(
              'MODIFICATION_REJECTED',
              `node "${node.id}" cannot be required by "${target}": it is ${status ?? 'unknown'}, not pending`,
            );
          }
          requiredBy.set(target, [...(requiredBy.get(target) ?? []), node.id]);
        }
      }
      const total = compiled.nodeIds.length + added.length;
      if (total > compiled.limits.maxNodes) {
        throw new OrchestratorError(
          'MODIFICATION_REJECTED',
          `adding ${added.length} node(s) would make ${total}, over the workflow's limit of ${compiled.limits.maxNodes}`,
        );
      }
      const withRequired = (node: NodeDefinition): NodeDefinition =>
        requiredBy.has(node.id)
          ? { ...node, dependsOn: [...(node.dependsOn ?? []), ...(requiredBy.get(node.id) ?? [])] }
          : node;
      // Added nodes may be targets too: a resumed run replays every recorded addition in one
      // call, where a later addition's requiredBy can name a node an earlier one added.
      const nodes = [
        ...compiled.definition.nodes.map(withRequired),
        ...requests.map(({ requiredBy: _requiredBy, ...node }) => withRequired(node as NodeDefinition)),
      ];
      let next: CompiledWorkflow;
      try {
        next = compileWorkflow({ ...compiled.definition, nodes }, { file: compiled.file });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new OrchestratorError('MODIFICATION_REJECTED', `the change is invalid: ${message}`, { cause: error });
      }
      return planFromCompiled(next, options);
    },
  };
  return plan;
}

function toPlanNode(node: CompiledNode, functions: PlanFunctions | undefined): PlanNode {
  const template = node.task ?? node.prompt;
  const compensation = node.compensation;
  const condition = node.condition;
  return {
    id: node.id,
    kind: functions?.[node.id] ? 'function' : node.kind,
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
    renderTask: (context) => (template ? renderTemplate(template, context) : ''),
    evaluateCondition: condition ? (context) => evaluateCondition(condition, context) : undefined,
    renderCompensation: compensation ? (context) => renderTemplate(compensation.task, context) : undefined,
    compensationAgent: compensation?.agent.name,
    run: functions?.[node.id],
  };
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
  };
}

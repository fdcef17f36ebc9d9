import type { CompiledLimits } from './definition/compiled.ts';
import { type GraphPolicy, PROTECTED_NODE_KINDS } from './definition/graph-policy.ts';
import type { PlanNode } from './plan.ts';
import type { WorkflowState } from './state.ts';

/**
 * Who may change a running workflow's graph, and how: pure decisions over plain data, taken
 * before the engine checks the change's structure (`withAddedNodes`) and records it. Agents
 * are held to their type's graph policy (`agents.X.graph`); human and approval nodes are
 * protected from every agent whatever its policy: none may skip one, nor skip a node whose
 * skip would skip one (a dependency skipped skips an `all_success` node). Operators (the CLI,
 * the API, code embedding the engine) are trusted with the graph; the workflow's growth
 * limits hold for everybody.
 */

/** Who asks for a graph change. */
export type GraphActor =
  | { readonly kind: 'operator'; readonly by: string }
  | {
      readonly kind: 'agent';
      readonly by: string;
      readonly agentId: string;
      /** The agent's type; `undefined` when the run does not know it (the default policy applies). */
      readonly agentType: string | undefined;
      /** The type's policy; `undefined` when the type may not change the workflow at all. */
      readonly policy: GraphPolicy | undefined;
    };

/** A decision on one change: allowed, or refused with the rule that refused it. */
export type GraphDecision =
  | { readonly allowed: true; readonly rule: string; readonly reason: string }
  | { readonly allowed: false; readonly rule: string; readonly reason: string };

/** What the decisions read of the plan. */
export interface GraphChangeView {
  node(id: string): PlanNode | undefined;
  nodes(): Iterable<PlanNode>;
  readonly limits: CompiledLimits;
  /** Nodes added at run time so far. */
  readonly addedCount: number;
  /** Nodes in the plan now. */
  readonly size: number;
}

/** Fields an agent may give a node it adds; the rest (workspace, session, compensation...) are the operator's. */
export const AGENT_NODE_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'kind',
  'agent',
  'task',
  'prompt',
  'description',
  'dependsOn',
  'requiredBy',
  'output',
  'timeout',
]);

const allow = (rule: string, reason: string): GraphDecision => ({ allowed: true, rule, reason });
const deny = (rule: string, reason: string): GraphDecision => ({ allowed: false, rule, reason });

/** The decision on adding `nodes` (as requested: plain data, not yet checked). */
export function decideAddNodes(
  actor: GraphActor,
  nodes: readonly unknown[],
  view: GraphChangeView,
  wf: WorkflowState,
): GraphDecision {
  const growth = decideGrowth(nodes.length, view);
  if (actor.kind === 'operator') return growth ?? allow('operator', 'operators may change the graph');
  const { policy, agentType } = actor;
  const type = agentType ?? 'unknown';
  if (!policy) return deny('canModifyWorkflow', `agent type '${type}' may not change the workflow`);
  const add = policy.addNodes;
  if (!add) return deny('graph.addNodes', `agent type '${type}' may not add nodes (graph.addNodes: false)`);
  if (nodes.length > add.maxPerCall) {
    return deny(
      'graph.addNodes.maxPerCall',
      `${nodes.length} nodes in one call, more than agent type '${type}' may add at once (${add.maxPerCall})`,
    );
  }
  const before = agentType === undefined ? 0 : (wf.addedBy?.[agentType] ?? 0);
  if (before + nodes.length > add.maxPerRun) {
    return deny(
      'graph.addNodes.maxPerRun',
      `agents of type '${type}' added ${before} node(s) in this run; ${nodes.length} more would pass their limit of ${add.maxPerRun}`,
    );
  }
  if (growth) return growth;
  for (const raw of nodes) {
    const node = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const id = JSON.stringify(node.id);
    const extra = Object.keys(node).filter((key) => !AGENT_NODE_FIELDS.has(key));
    if (extra.length > 0) {
      return deny('graph.addNodes.fields', `node ${id}: an agent may not set ${extra.join(', ')}`);
    }
    const kind = typeof node.kind === 'string' ? node.kind : 'agent';
    if (!add.kinds.includes(kind)) {
      return deny(
        'graph.addNodes.kinds',
        `node ${id}: agent type '${type}' may add ${add.kinds.join(', ')} nodes, not ${kind}`,
      );
    }
    if (add.agents && typeof node.agent === 'string' && !add.agents.includes(node.agent)) {
      return deny(
        'graph.addNodes.agents',
        `node ${id}: agent type '${type}' may add nodes for ${add.agents.join(', ')}, not '${node.agent}'`,
      );
    }
  }
  return allow('graph.addNodes', `within the policy of agent type '${type}'`);
}

/** The decision on skipping `ids` (nodes that have not started; the engine checks that). */
export function decideSkipNodes(actor: GraphActor, ids: readonly string[], view: GraphChangeView): GraphDecision {
  if (actor.kind === 'operator') return allow('operator', 'operators may change the graph');
  const { policy, agentType } = actor;
  const type = agentType ?? 'unknown';
  if (!policy) return deny('canModifyWorkflow', `agent type '${type}' may not change the workflow`);
  const skip = policy.skipNodes;
  if (!skip) return deny('graph.skipNodes', `agent type '${type}' may not skip nodes (graph.skipNodes: false)`);
  for (const id of ids) {
    const kind = definedKind(view.node(id));
    if (kind === undefined) continue;
    if (PROTECTED_NODE_KINDS.has(kind)) {
      const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
      return deny(
        'protected',
        `node '${id}' is ${article} ${kind} node: only a person may decide it, no agent may skip it`,
      );
    }
    if (!skip.kinds.includes(kind)) {
      return deny('graph.skipNodes.kinds', `agent type '${type}' may skip ${skip.kinds.join(', ')} nodes, not ${kind}`);
    }
  }
  const hit = protectedDownstream(ids, view);
  if (hit) {
    return deny(
      'protected',
      `skipping '${hit.from}' would skip ${hit.kind} node '${hit.id}' (its trigger all_success skips it when a dependency is skipped): no agent may do that`,
    );
  }
  return allow('graph.skipNodes', `within the policy of agent type '${type}'`);
}

/** The kind a node has in its definition: `function` nodes are agent nodes whose task code runs. */
function definedKind(node: PlanNode | undefined): string | undefined {
  return node?.kind === 'function' ? 'agent' : node?.kind;
}

/** A refusal when `count` more nodes pass the workflow's growth limits, else undefined. */
function decideGrowth(count: number, view: GraphChangeView): GraphDecision | undefined {
  const { maxNodes, maxAddedNodes } = view.limits;
  if (view.addedCount + count > maxAddedNodes) {
    return deny(
      'limits.maxAddedNodes',
      `${view.addedCount} node(s) were added in this run; ${count} more would pass the workflow's limit of ${maxAddedNodes} (limits.maxAddedNodes)`,
    );
  }
  if (view.size + count > maxNodes) {
    return deny(
      'limits.maxNodes',
      `adding ${count} node(s) would make ${view.size + count}, over the workflow's limit of ${maxNodes} (limits.maxNodes)`,
    );
  }
  return undefined;
}

/**
 * The first protected node a skip of `ids` would skip in turn: skips travel to dependents
 * whose trigger is `all_success` (the others run when a dependency is skipped). O(V + E) for
 * the reverse index, paid only when an agent skips.
 */
export function protectedDownstream(
  ids: readonly string[],
  view: Pick<GraphChangeView, 'node' | 'nodes'>,
): { from: string; id: string; kind: string } | undefined {
  const dependents = new Map<string, string[]>();
  for (const node of view.nodes()) {
    for (const dep of node.dependsOn) dependents.set(dep, [...(dependents.get(dep) ?? []), node.id]);
  }
  for (const from of ids) {
    const seen = new Set<string>([from]);
    const queue = [from];
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      for (const next of dependents.get(id) ?? []) {
        const node = view.node(next);
        if (!node || seen.has(next) || node.trigger !== 'all_success') continue;
        if (PROTECTED_NODE_KINDS.has(node.kind)) return { from, id: next, kind: node.kind };
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return undefined;
}

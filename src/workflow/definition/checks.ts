/**
 * Cross-field checks of a workflow: names that must exist, the graph, templates and
 * conditions. They run on the raw value even when the schema found problems, reading only
 * fields of the right type, so one pass reports every problem in the file.
 */
import { findCycles, formatCycle, type GraphNode, topologicalOrder } from './graph.ts';
import { checkGraphPolicies } from './graph-policy.ts';
import { NAME_PATTERN } from './names.ts';
import {
  type ConversationTaker,
  checkNode,
  checkTakers,
  type GraphLookup,
  jsonDataProblem,
  type NodeArtifacts,
  type NodeScope,
  rawOutputShape,
  takerOf,
} from './node-checks.ts';
import { describeValue, didYouMean, type PathSegment, type RawProblem } from './problems.ts';
import { WORKFLOW_DEFAULTS } from './schema.ts';
import { parseTemplate } from './template.ts';

export type { NodeArtifacts } from './node-checks.ts';
export { jsonDataProblem } from './node-checks.ts';

/** What the checks need to know beyond the file. */
export interface CheckContext {
  /** Agent type names defined outside the file (a registry). */
  readonly externalAgents: ReadonlySet<string>;
  /** Every node kind known: built-in and added by plugins. */
  readonly nodeKinds: readonly string[];
}

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Rec) : undefined;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const name = (value: unknown): string | undefined =>
  typeof value === 'string' && NAME_PATTERN.test(value) ? value : undefined;

/** True when `value` has the declared input type. */
export function matchesInputType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return rec(value) !== undefined;
    default:
      return false;
  }
}

/** What {@link checkWorkflow} found, and what it made that the compiler uses. */
export interface CheckedWorkflow {
  readonly problems: RawProblem[];
  /** Each node's parsed templates and conditions, by position. */
  readonly artifacts: NodeArtifacts[];
  /**
   * The node ids in run order (see `topologicalOrder`), of the graph as the checks read it:
   * with no problem found, that is the compiled workflow's graph.
   */
  readonly order: string[];
  /** Each node id's position in the list (its first, where an id repeats, which is a problem). */
  readonly positions: ReadonlyMap<string, number>;
}

/** Runs every cross-field check; returns the problems and the parsed templates and conditions. */
export function checkWorkflow(raw: unknown, context: CheckContext): CheckedWorkflow {
  const problems: RawProblem[] = [];
  const push = (path: PathSegment[], message: string, offset?: number) =>
    problems.push(offset === undefined ? { path, message } : { path, message, offset });
  const root = rec(raw) ?? {};

  const inputs = new Map<string, string>();
  for (const [key, def] of Object.entries(rec(root.inputs) ?? {})) {
    const type = str(rec(def)?.type);
    if (type === undefined) continue;
    inputs.set(key, type);
    const value = rec(def)?.default;
    if (value === undefined) continue;
    const notJson = jsonDataProblem(value);
    if (notJson) push(['inputs', key, 'default'], notJson);
    else if (!matchesInputType(value, type)) {
      push(['inputs', key, 'default'], `expected ${type} (the input's type), received ${describeValue(value)}`);
    }
  }

  const inlineAgents = Object.entries(rec(root.agents) ?? {});
  for (const [key, def] of inlineAgents) {
    const inner = name(rec(def)?.name);
    if (inner !== undefined && inner !== key)
      push(['agents', key, 'name'], `the name '${inner}' differs from its key '${key}'`);
  }
  const agentNames = new Set([...inlineAgents.map(([key]) => key), ...context.externalAgents]);
  const isolatedAgent = (agent: string | undefined): boolean =>
    agent !== undefined && rec(rec(root.agents)?.[agent])?.workingDirectory === 'isolated';
  const groupNames = Object.keys(rec(root.groups) ?? {});
  const hasWorkflowCache = rec(root.cache) !== undefined;
  const rawNodes = Array.isArray(root.nodes) ? root.nodes : [];
  const limit = rec(root.limits)?.maxNodes;
  const maxNodes = typeof limit === 'number' ? limit : WORKFLOW_DEFAULTS.maxNodes;
  if (rawNodes.length > maxNodes) {
    push(['nodes'], `the workflow has ${rawNodes.length} nodes, more than limits.maxNodes (${maxNodes})`);
  }

  // Ids first: every later check resolves names against them.
  const firstIndex = new Map<string, number>();
  rawNodes.forEach((node, i) => {
    const id = name(rec(node)?.id);
    if (id === undefined) return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, i);
    else push(['nodes', i, 'id'], `duplicate node id '${id}' (first used by nodes[${first}])`);
  });
  const graph: GraphNode[] = [];
  const dependencies = new Map<string, string[]>();
  rawNodes.forEach((node, i) => {
    const id = name(rec(node)?.id);
    const deps = Array.isArray(rec(node)?.dependsOn) ? (rec(node)?.dependsOn as unknown[]) : [];
    const kept: string[] = [];
    deps.forEach((dep, j) => {
      // A known id passed the name check already (30,000 tests of the pattern for nothing on a
      // 10,000-node workflow with three dependencies each).
      const depId = typeof dep === 'string' && firstIndex.has(dep) ? dep : name(dep);
      if (depId === undefined) return;
      if (depId === id) push(['nodes', i, 'dependsOn', j], `node '${id}' cannot depend on itself`);
      else if (!firstIndex.has(depId))
        push(['nodes', i, 'dependsOn', j], `unknown node '${depId}'${didYouMean(depId, firstIndex.keys())}`);
      else if (kept.includes(depId)) push(['nodes', i, 'dependsOn', j], `'${depId}' is listed twice`);
      else kept.push(depId);
    });
    if (id !== undefined && firstIndex.get(id) === i) {
      graph.push({ id, dependsOn: kept });
      dependencies.set(id, kept);
    }
  });
  const ordered = topologicalOrder(graph);
  for (const cycle of findCycles(graph, ordered)) {
    const first = cycle[0] as string;
    const last = cycle[cycle.length - 1] as string;
    const index = firstIndex.get(first) ?? 0;
    const deps = rec(rawNodes[index])?.dependsOn;
    const j = Array.isArray(deps) ? deps.indexOf(last) : -1;
    push(
      j >= 0 ? ['nodes', index, 'dependsOn', j] : ['nodes', index, 'dependsOn'],
      `dependency cycle: ${formatCycle(cycle)}`,
    );
  }

  // Read from the nodes when asked (a reference names a few): no copy of every id or kind.
  const graphLookup: GraphLookup = {
    ids: { has: (id) => firstIndex.has(id), [Symbol.iterator]: () => firstIndex.keys() },
    dependsOn: (id) => dependencies.get(id),
    kind: (id) => {
      const index = firstIndex.get(id);
      return index === undefined ? undefined : (str(rec(rawNodes[index])?.kind) ?? WORKFLOW_DEFAULTS.kind);
    },
    outputShape: (id) => rawOutputShape(rawNodes[firstIndex.get(id) ?? -1]),
    isolated: (id) => {
      const node = rec(rawNodes[firstIndex.get(id) ?? -1]);
      return node?.workspace === 'isolated' || isolatedAgent(name(node?.agent));
    },
  };
  // One compiled template per distinct text: a generated workflow gives thousands of nodes one
  // task, each of which was parsed, kept and frozen on its own (a 10,000-node definition kept
  // 7.8 MB, now 6.3).
  const templates = new Map<string, ReturnType<typeof parseTemplate>>();
  const scope: NodeScope = {
    parseTemplate(source) {
      let parsed = templates.get(source);
      if (parsed === undefined) {
        parsed = parseTemplate(source);
        templates.set(source, parsed);
      }
      return parsed;
    },
    nodeKinds: context.nodeKinds,
    agentNames,
    groupNames,
    hasWorkflowCache,
    inputs,
    isolatedAgent,
    graph: graphLookup,
  };

  const takers = new Map<string, ConversationTaker[]>();
  rawNodes.forEach((raw, index) => {
    const taker = takerOf(raw, index);
    if (taker) takers.set(taker.from, [...(takers.get(taker.from) ?? []), taker]);
  });
  checkTakers(takers, push, (index) => ['nodes', index, 'session', 'from']);
  problems.push(...checkGraphPolicies(rec(root.agents) ?? {}, agentNames, context.nodeKinds));

  const artifacts: NodeArtifacts[] = rawNodes.map((raw, i) => {
    const node = rec(raw);
    const id = name(node?.id);
    if (!node || id === undefined) return {};
    return checkNode(node, id, (...rest) => ['nodes', i, ...rest], push, scope);
  });
  return { problems, artifacts, order: ordered.order, positions: firstIndex };
}

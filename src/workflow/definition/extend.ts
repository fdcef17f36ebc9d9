/**
 * Run-time additions to a compiled workflow, checked and compiled on their own: the added
 * nodes get the same checks as nodes of a file (schema, kinds, agents, groups, templates and
 * the nodes they may read, conversations, cycles, limits), against facts the running plan
 * keeps about its nodes. Nothing of the existing graph is compiled again, so adding k nodes
 * costs in proportion to k and to what the new nodes read (their upstream nodes), where
 * compiling the whole definition again cost in proportion to the whole graph at every call.
 */
import { z } from 'zod';
import { OrchestratorError } from '../../errors/index.ts';
import { compileNode } from './compile.ts';
import type { CompiledNode, CompiledWorkflow } from './compiled.ts';
import { formatCycle } from './graph.ts';
import {
  type ConversationTaker,
  checkNode,
  checkTakers,
  type GraphLookup,
  type NodeArtifacts,
  rawOutputShape,
  takerOf,
} from './node-checks.ts';
import { didYouMean, formatPath, issuesToProblems, type PathSegment, type RawProblem } from './problems.ts';
import type { NameSet, OutputShape } from './references.ts';
import { BUILT_IN_NODE_KINDS, nodeSchema, type ParsedWorkflow } from './schema.ts';
import { parseTemplate } from './template.ts';

/** What a running plan knows of one of its nodes: enough to check additions against it. */
export interface NodeFacts {
  readonly kind: string;
  readonly dependsOn: readonly string[];
  readonly output: OutputShape;
  readonly isolated: boolean;
  readonly session: { readonly from: string; readonly fork: boolean } | undefined;
}

/** The graph an addition applies to. */
export interface ExtensionBase {
  /** Workflow-level settings: agents, groups, inputs, cache, limits. */
  readonly compiled: CompiledWorkflow;
  /** Facts of the nodes the plan has now (the file's and those added before). */
  readonly facts: ReadonlyMap<string, NodeFacts>;
}

/** Added nodes, compiled, and the existing nodes that gained dependencies. */
export interface Extension {
  readonly nodes: readonly CompiledNode[];
  /** Existing (or added) nodes named in a `requiredBy`, with their whole new dependency list. */
  readonly dependsOn: ReadonlyMap<string, readonly string[]>;
  /** Facts of the added nodes and of the nodes whose dependencies changed. */
  readonly facts: ReadonlyMap<string, NodeFacts>;
}

/** The facts of a compiled node. */
export function factsOf(node: CompiledNode): NodeFacts {
  return {
    kind: node.kind,
    dependsOn: node.dependsOn,
    output: rawOutputShape({ kind: node.kind, output: node.outputSchema ? { schema: node.outputSchema } : undefined }),
    isolated: node.workspace === 'isolated',
    session: node.session,
  };
}

const additionSchema = z.strictObject({ nodes: z.array(nodeSchema) });

/**
 * Checks and compiles nodes added to a running workflow. `requiredBy` maps a node (existing or
 * added) to the added nodes it must now wait for. Limits of growth and the run's state (which
 * nodes have started) are the caller's to check.
 * @throws OrchestratorError `MODIFICATION_REJECTED` listing every problem
 */
export function extendWorkflow(
  base: ExtensionBase,
  added: readonly unknown[],
  requiredBy: ReadonlyMap<string, readonly string[]>,
): Extension {
  const problems: RawProblem[] = [];
  const push = (path: PathSegment[], message: string) => problems.push({ path, message });
  const parsed = additionSchema.safeParse({ nodes: added }, { reportInput: true });
  if (!parsed.success) problems.push(...issuesToProblems(parsed.error.issues, additionSchema));
  const raw = added as Array<Record<string, unknown>>;
  const { compiled, facts } = base;

  const index = new Map<string, number>();
  raw.forEach((node, i) => {
    const id = node?.id;
    if (typeof id !== 'string') return;
    if (facts.has(id) || index.has(id)) push(['nodes', i, 'id'], `node '${id}' already exists`);
    else index.set(id, i);
  });
  const ids: NameSet = {
    has: (id) => facts.has(id) || index.has(id),
    *[Symbol.iterator]() {
      yield* facts.keys();
      yield* index.keys();
    },
  };
  const dependsOn = new Map<string, readonly string[]>();
  raw.forEach((node, i) => {
    const id = typeof node?.id === 'string' ? node.id : undefined;
    const kept: string[] = [];
    (Array.isArray(node?.dependsOn) ? (node.dependsOn as unknown[]) : []).forEach((dep, j) => {
      if (typeof dep !== 'string') return;
      if (dep === id) push(['nodes', i, 'dependsOn', j], `node '${dep}' cannot depend on itself`);
      else if (!ids.has(dep)) push(['nodes', i, 'dependsOn', j], `unknown node '${dep}'${didYouMean(dep, ids)}`);
      else if (kept.includes(dep)) push(['nodes', i, 'dependsOn', j], `'${dep}' is listed twice`);
      else kept.push(dep);
    });
    if (id !== undefined && index.get(id) === i) dependsOn.set(id, kept);
  });
  for (const [target, before] of requiredBy) {
    if (!ids.has(target)) {
      push(['requiredBy'], `unknown node '${target}'${didYouMean(target, ids)}`);
      continue;
    }
    const current = dependsOn.get(target) ?? facts.get(target)?.dependsOn ?? [];
    dependsOn.set(target, [...current, ...before.filter((id) => !current.includes(id))]);
  }
  const depsOf = (id: string) => dependsOn.get(id) ?? facts.get(id)?.dependsOn;

  const cycle = findNewCycle([...index.keys()], depsOf);
  if (cycle) push([], `the change would create a dependency cycle: ${formatCycle(cycle)}`);

  const rawOf = (id: string) => raw[index.get(id) ?? -1];
  const isolatedAgent = (name: string | undefined) =>
    name !== undefined && compiled.agents[name]?.workingDirectory === 'isolated';
  const graph: GraphLookup = {
    ids,
    dependsOn: depsOf,
    kind: (id) => facts.get(id)?.kind ?? (index.has(id) ? String(rawOf(id)?.kind ?? 'agent') : undefined),
    outputShape: (id) => facts.get(id)?.output ?? rawOutputShape(rawOf(id)),
    isolated: (id) => {
      const known = facts.get(id);
      if (known) return known.isolated;
      const node = rawOf(id);
      return node?.workspace === 'isolated' || isolatedAgent(node?.agent as string | undefined);
    },
  };
  const scope = {
    nodeKinds: BUILT_IN_NODE_KINDS,
    agentNames: new Set(Object.keys(compiled.agents)),
    groupNames: Object.keys(compiled.groups),
    hasWorkflowCache: compiled.cache !== undefined,
    inputs: new Map(Object.values(compiled.inputs).map((input) => [input.name, input.type as string])),
    isolatedAgent,
    graph,
    parseTemplate,
  };
  const artifacts: NodeArtifacts[] = raw.map((node, i) => {
    const id = node?.id;
    if (typeof id !== 'string' || index.get(id) !== i) return {};
    return checkNode(node, id, (...rest) => ['nodes', i, ...rest], push, scope);
  });
  checkTakers(takersWith(raw, facts), push, (i) => ['nodes', i, 'session', 'from']);

  if (problems.length > 0 || !parsed.success) {
    const shown = problems.map((p) => `${describePath(p.path, raw)}${p.message}`);
    throw new OrchestratorError('MODIFICATION_REJECTED', `the change is invalid: ${shown.join('; ')}`, {
      details: { problems: problems.map((p) => ({ path: formatPath(p.path), message: p.message })) },
    });
  }

  const agentNamed = (name: string) => {
    const type = compiled.agents[name];
    if (!type) throw new Error(`agent '${name}' vanished after validation`);
    return type;
  };
  const dependents = new Map<string, string[]>();
  for (const [id, deps] of dependsOn) for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), id]);
  const size = facts.size;
  const nodes = parsed.data.nodes.map((n: ParsedWorkflow['nodes'][number], i) =>
    compileNode({ ...n, dependsOn: [...(dependsOn.get(n.id) ?? [])] }, size + i, artifacts[i] ?? {}, {
      agentNamed,
      cache: compiled.cache,
      onConflict: compiled.onConflict,
      dependents: dependents.get(n.id) ?? [],
    }),
  );
  const newFacts = new Map<string, NodeFacts>(nodes.map((node) => [node.id, factsOf(node)]));
  const changed = new Map<string, readonly string[]>();
  for (const target of requiredBy.keys()) {
    const deps = dependsOn.get(target) ?? [];
    changed.set(target, deps);
    const known = newFacts.get(target) ?? facts.get(target);
    if (known) newFacts.set(target, { ...known, dependsOn: deps });
  }
  return { nodes, dependsOn: changed, facts: newFacts };
}

/** `nodes[0] ("fix")` for a problem's path, so an agent knows which of its nodes is meant. */
function describePath(path: readonly PathSegment[], raw: ReadonlyArray<Record<string, unknown>>): string {
  if (path.length === 0) return '';
  const [root, i, ...rest] = path;
  if (root !== 'nodes' || typeof i !== 'number') return `${formatPath(path)}: `;
  const id = raw[i]?.id;
  const where = typeof id === 'string' ? `node '${id}'` : `nodes[${i}]`;
  return `${where}${rest.length > 0 ? ` ${formatPath(rest)}` : ''}: `;
}

/** Takers of conversations: the added nodes (their index) beside accepted nodes (index -1). */
function takersWith(raw: readonly unknown[], facts: ReadonlyMap<string, NodeFacts>): Map<string, ConversationTaker[]> {
  const takers = new Map<string, ConversationTaker[]>();
  const wanted = new Set(raw.flatMap((node, i) => takerOf(node, i)?.from ?? []));
  if (wanted.size === 0) return takers;
  for (const [id, fact] of facts) {
    if (!fact.session || !wanted.has(fact.session.from) || fact.kind !== 'agent') continue;
    takers.set(fact.session.from, [
      ...(takers.get(fact.session.from) ?? []),
      { index: -1, id, fork: fact.session.fork },
    ]);
  }
  raw.forEach((node, i) => {
    const taker = takerOf(node, i);
    if (taker) takers.set(taker.from, [...(takers.get(taker.from) ?? []), taker]);
  });
  return takers;
}

/**
 * A dependency cycle through one of `starts`, or undefined: a depth-first walk up the
 * dependencies from the added nodes only (any new cycle passes through one of them), each
 * node visited once, so the cost is what the added nodes can reach.
 */
function findNewCycle(
  starts: readonly string[],
  depsOf: (id: string) => readonly string[] | undefined,
): string[] | undefined {
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  for (const start of starts) {
    if (done.has(start)) continue;
    const path: string[] = [];
    const stack: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
    onPath.set(start, 0);
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: string; next: number };
      const deps = depsOf(top.id) ?? [];
      if (top.next >= deps.length) {
        stack.pop();
        path.pop();
        onPath.delete(top.id);
        done.add(top.id);
        continue;
      }
      const dep = deps[top.next++] as string;
      if (onPath.has(dep)) {
        // path[k..] reads dep <- ... <- top: in run order that is top's chain reversed.
        return path.slice(onPath.get(dep)).reverse();
      }
      if (done.has(dep)) continue;
      onPath.set(dep, path.length);
      path.push(dep);
      stack.push({ id: dep, next: 0 });
    }
  }
  return undefined;
}

/**
 * Pure graph helpers over plain `{ id, dependsOn }` data, shared by the compiler, the engine
 * and run-time graph changes. Edges to ids that are not in the list are ignored here (the
 * compiler reports them as unknown dependencies).
 */
import { NAME_PATTERN } from './names.ts';
import { didYouMean } from './problems.ts';

/** A node as the graph helpers see it. */
export interface GraphNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

/**
 * Kahn's algorithm with ties broken by list order, so the order is stable for a given file.
 * Nodes on a cycle, or downstream of one, cannot be ordered and are returned as `blocked`.
 */
export function topologicalOrder(nodes: readonly GraphNode[]): { order: string[]; blocked: string[] } {
  const count = nodes.length;
  const index = new Map<string, number>();
  for (let i = 0; i < count; i++) index.set((nodes[i] as GraphNode).id, i);
  // Each node's distinct known dependencies, once each: `counted[d] === i` marks d as counted
  // for node i. The dependents of node d are then `targets[offsets[d]]` up to
  // `targets[offsets[d + 1]]`, in list order: no Set, filtered copy or array per node, which
  // were most of the time (and of the heap kept meanwhile) for 10,000 nodes.
  const counted = new Int32Array(count);
  const eachDependency = (visit: (dependent: number, dependency: number) => void): void => {
    counted.fill(-1);
    for (let i = 0; i < count; i++) {
      for (const dep of (nodes[i] as GraphNode).dependsOn) {
        const d = index.get(dep);
        if (d === undefined || counted[d] === i) continue;
        counted[d] = i;
        visit(i, d);
      }
    }
  };
  const pending = new Int32Array(count);
  const offsets = new Int32Array(count + 1);
  eachDependency((i, d) => {
    pending[i] = (pending[i] as number) + 1;
    offsets[d + 1] = (offsets[d + 1] as number) + 1;
  });
  for (let d = 0; d < count; d++) offsets[d + 1] = (offsets[d + 1] as number) + (offsets[d] as number);
  const targets = new Int32Array(offsets[count] as number);
  const next = offsets.slice(0, count);
  eachDependency((i, d) => {
    targets[(next[d] as number)++] = i;
  });
  // Ready nodes in a min-heap of list positions: O((V + E) log V), whatever the shape.
  const ready = new MinHeap();
  for (let i = 0; i < count; i++) if (pending[i] === 0) ready.push(i);
  const order: string[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push((nodes[i] as GraphNode).id);
    const end = offsets[i + 1] as number;
    for (let k = offsets[i] as number; k < end; k++) {
      const dependent = targets[k] as number;
      pending[dependent] = (pending[dependent] as number) - 1;
      if (pending[dependent] === 0) ready.push(dependent);
    }
  }
  // What was not ordered: by position when ids are distinct (every caller's are), by id otherwise.
  if (index.size === count) {
    const blocked: string[] = [];
    if (order.length < count)
      for (let i = 0; i < count; i++) if ((pending[i] as number) > 0) blocked.push((nodes[i] as GraphNode).id);
    return { order, blocked };
  }
  const done = new Set(order);
  return { order, blocked: nodes.map((node) => node.id).filter((id) => !done.has(id)) };
}

/** A binary min-heap of numbers. */
class MinHeap {
  readonly #items: number[] = [];

  push(value: number): void {
    const items = this.#items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[i] = items[parent] as number;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as number) < (items[left] as number) ? right : left;
      if ((items[child] as number) >= last) break;
      items[i] = items[child] as number;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * Finds dependency cycles: each in run order (`['a', 'b', 'c']` reads a -> b -> c -> a, where
 * b depends on a), starting at the node listed first. At least one cycle is returned for
 * every group of nodes that cannot be ordered; self-dependencies are one-node cycles. A caller
 * that has ordered `nodes` already passes that result instead of having it made again.
 */
export function findCycles(nodes: readonly GraphNode[], { blocked } = topologicalOrder(nodes)): string[][] {
  // An acyclic graph (nearly every one): no lookups built for it (two maps of 10,000 entries
  // were most of this function's time on a 10,000-node workflow).
  if (blocked.length === 0) return [];
  const blockedSet = new Set(blocked);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const position = new Map(nodes.map((node, i) => [node.id, i]));
  const walked = new Set<string>();
  const cycles: string[][] = [];
  // Every blocked node has a blocked dependency, so following them from any blocked node
  // must come back to a node already on the path: that loop is a cycle.
  for (const start of blocked) {
    if (walked.has(start)) continue;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let current: string | undefined = start;
    while (current !== undefined && !walked.has(current)) {
      onPath.set(current, path.length);
      path.push(current);
      walked.add(current);
      const deps: readonly string[] = byId.get(current)?.dependsOn ?? [];
      current = deps.find((dep) => blockedSet.has(dep) && (onPath.has(dep) || !walked.has(dep)));
    }
    if (current === undefined || !onPath.has(current)) continue;
    const loop = path.slice(onPath.get(current)).reverse();
    const first = loop.reduce(
      (best, id, i) => ((position.get(id) ?? 0) < (position.get(loop[best] as string) ?? 0) ? i : best),
      0,
    );
    cycles.push([...loop.slice(first), ...loop.slice(0, first)]);
  }
  return cycles;
}

/** Prints a cycle as `a -> b -> c -> a`. */
export function formatCycle(cycle: readonly string[]): string {
  return [...cycle, cycle[0]].join(' -> ');
}

/** Every node `id` depends on, directly or transitively (not `id` itself unless it is on a cycle). */
export function upstreamOf(id: string, dependencies: { get(id: string): readonly string[] | undefined }): Set<string> {
  const seen = new Set<string>();
  const stack = [...(dependencies.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(dependencies.get(next) ?? []));
  }
  return seen;
}

/** The graph a run-time change applies to; a `CompiledWorkflow` is one. */
export interface GraphView {
  readonly nodes: Readonly<Record<string, GraphNode>>;
  readonly limits: { readonly maxNodes: number };
}

/** A change to a running workflow's graph, as an agent's orchestrator tool asks for it. */
export interface GraphChange {
  /** New nodes; their dependencies may name existing nodes or other new ones. */
  readonly addNodes?: readonly GraphNode[];
  /** More dependencies for existing nodes that have not started. */
  readonly addDependencies?: readonly GraphNode[];
  /** Existing nodes that have not started, to be skipped. */
  readonly skipNodes?: readonly string[];
}

/** One reason a {@link GraphChange} is refused. */
export interface GraphChangeProblem {
  /** Where in the change, such as `addNodes[0].dependsOn[1]`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Checks a graph change without applying it: new ids are valid and unused, dependencies
 * exist, the node limit holds, only pending nodes gain dependencies or are skipped, and the
 * result has no cycle. `statuses` gives the run's node statuses; a node absent from it, or
 * `'pending'`, has not started. Returns every problem; empty means the change is allowed.
 */
export function validateGraphChange(
  graph: GraphView,
  change: GraphChange,
  statuses: Readonly<Record<string, string | undefined>> = {},
): GraphChangeProblem[] {
  const problems: GraphChangeProblem[] = [];
  const existing = Object.keys(graph.nodes);
  const added = change.addNodes ?? [];
  const known = new Set([...existing, ...added.map((node) => node.id)]);
  const isPending = (id: string) => statuses[id] === undefined || statuses[id] === 'pending';
  const checkDeps = (path: string, node: GraphNode) => {
    node.dependsOn.forEach((dep, j) => {
      if (dep === node.id)
        problems.push({ path: `${path}.dependsOn[${j}]`, message: `node '${dep}' cannot depend on itself` });
      else if (!known.has(dep)) {
        problems.push({ path: `${path}.dependsOn[${j}]`, message: `unknown node '${dep}'${didYouMean(dep, known)}` });
      }
    });
  };

  const seen = new Set<string>();
  added.forEach((node, i) => {
    if (!NAME_PATTERN.test(node.id)) {
      problems.push({ path: `addNodes[${i}].id`, message: `invalid node id ${JSON.stringify(node.id)}` });
    } else if (Object.hasOwn(graph.nodes, node.id) || seen.has(node.id)) {
      problems.push({ path: `addNodes[${i}].id`, message: `node '${node.id}' already exists` });
    }
    seen.add(node.id);
    checkDeps(`addNodes[${i}]`, node);
  });
  const total = existing.length + added.length;
  if (total > graph.limits.maxNodes) {
    problems.push({
      path: 'addNodes',
      message: `the workflow would have ${total} nodes, more than its limit of ${graph.limits.maxNodes} (limits.maxNodes)`,
    });
  }
  (change.addDependencies ?? []).forEach((node, i) => {
    if (!Object.hasOwn(graph.nodes, node.id)) {
      problems.push({
        path: `addDependencies[${i}].id`,
        message: `unknown node '${node.id}'${didYouMean(node.id, existing)}`,
      });
    } else if (!isPending(node.id)) {
      problems.push({
        path: `addDependencies[${i}].id`,
        message: `node '${node.id}' is ${statuses[node.id]}, not pending`,
      });
    }
    checkDeps(`addDependencies[${i}]`, node);
  });
  (change.skipNodes ?? []).forEach((id, i) => {
    if (!Object.hasOwn(graph.nodes, id)) problems.push({ path: `skipNodes[${i}]`, message: `unknown node '${id}'` });
    else if (!isPending(id))
      problems.push({ path: `skipNodes[${i}]`, message: `node '${id}' is ${statuses[id]}, not pending` });
  });

  const merged = new Map<string, string[]>();
  for (const node of Object.values(graph.nodes)) merged.set(node.id, [...node.dependsOn]);
  for (const node of added) merged.set(node.id, [...(merged.get(node.id) ?? []), ...node.dependsOn]);
  for (const node of change.addDependencies ?? []) {
    if (merged.has(node.id)) merged.set(node.id, [...(merged.get(node.id) ?? []), ...node.dependsOn]);
  }
  const mergedNodes = [...merged].map(([id, dependsOn]) => ({ id, dependsOn: dependsOn.filter((dep) => dep !== id) }));
  for (const cycle of findCycles(mergedNodes)) {
    problems.push({ path: '', message: `the change would create a dependency cycle: ${formatCycle(cycle)}` });
  }
  return problems;
}

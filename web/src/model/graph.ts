import { type ErrorFacts, obj, str, strings } from './event.ts';

/** States of a node, as the server's reducer names them. */
export type NodeStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retry_wait'
  | 'awaiting_input'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled';

/** Node states after which the node never runs again in the run. */
export const TERMINAL: ReadonlySet<NodeStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** One node of the workflow graph as the page shows it. */
export interface GraphNode {
  readonly id: string;
  readonly workflowId: string;
  readonly kind: string;
  readonly agentType: string | undefined;
  readonly group: string | undefined;
  /** The task or prompt, as written in the definition. */
  readonly text: string | undefined;
  readonly condition: string | undefined;
  /** Upstream node ids (run-time additions' `requiredBy` included). */
  readonly dependsOn: string[];
  status: NodeStatus;
  attempts: number;
  agentId: string | undefined;
  /** Set for nodes added at run time: who added them (`agent:<id>`, `api:…`), their agent type, when. */
  added: { readonly by: string; readonly agentType: string | undefined; readonly seq: number } | undefined;
  /** Why it was skipped or cancelled. */
  reason: string | undefined;
  error: ErrorFacts | undefined;
  cached: boolean;
  /** Changes on every update of this node, so a view can redraw only the nodes that changed. */
  rev: number;
}

/** Reads one node definition (plain JSON) into a graph node; undefined when it has no id. */
export function nodeFromDefinition(
  workflowId: string,
  definition: unknown,
  added?: GraphNode['added'],
): GraphNode | undefined {
  if (typeof definition !== 'object' || definition === null) return undefined;
  const d = definition as Record<string, unknown>;
  const id = str(d, 'id');
  if (id === undefined) return undefined;
  return {
    id,
    workflowId,
    kind: str(d, 'kind') ?? 'agent',
    agentType: str(d, 'agent'),
    group: str(d, 'group'),
    text: str(d, 'task') ?? str(d, 'prompt') ?? str(d, 'description'),
    condition: str(d, 'condition'),
    dependsOn: strings(d, 'dependsOn'),
    status: 'pending',
    attempts: 0,
    agentId: undefined,
    added,
    reason: undefined,
    error: undefined,
    cached: false,
    rev: 0,
  };
}

/** The node definitions of a workflow definition (`nodes`), or an empty list. */
export function definitionNodes(definition: unknown): unknown[] {
  if (typeof definition !== 'object' || definition === null) return [];
  const nodes = (definition as Record<string, unknown>).nodes;
  return Array.isArray(nodes) ? nodes : [];
}

/** `requiredBy` of a node added at run time: nodes that must now wait for it. */
export function requiredByOf(definition: unknown): string[] {
  return typeof definition === 'object' && definition !== null
    ? strings(definition as Record<string, unknown>, 'requiredBy')
    : [];
}

/** An edge of the graph: `source` must finish before `target`. */
export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
}

/** The edges of a set of nodes (dependencies on unknown nodes are left out). */
export function edgesOf(nodes: ReadonlyMap<string, GraphNode>): GraphEdge[] {
  const edges: GraphEdge[] = [];
  for (const node of nodes.values()) {
    for (const source of node.dependsOn) {
      if (nodes.has(source)) edges.push({ id: `${source}->${node.id}`, source, target: node.id });
    }
  }
  return edges;
}

/**
 * A quick layered placement (longest path from the roots), O(V+E): what the graph shows at
 * once while the full layout runs in a worker, and the fallback if that fails.
 */
export function quickLayout(
  nodes: ReadonlyMap<string, GraphNode>,
  size: { readonly width: number; readonly height: number; readonly gapX: number; readonly gapY: number },
): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>();
  const indegree = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const node of nodes.values()) {
    indegree.set(node.id, 0);
    children.set(node.id, []);
  }
  for (const node of nodes.values()) {
    for (const source of node.dependsOn) {
      if (!nodes.has(source)) continue;
      indegree.set(node.id, (indegree.get(node.id) ?? 0) + 1);
      children.get(source)?.push(node.id);
    }
  }
  const queue = [...nodes.keys()].filter((id) => indegree.get(id) === 0);
  for (const id of queue) depth.set(id, 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    for (const child of children.get(id) ?? []) {
      depth.set(child, Math.max(depth.get(child) ?? 0, (depth.get(id) ?? 0) + 1));
      const left = (indegree.get(child) ?? 1) - 1;
      indegree.set(child, left);
      if (left === 0) queue.push(child);
    }
  }
  const rows = new Map<number, number>();
  const positions = new Map<string, { x: number; y: number }>();
  for (const node of nodes.values()) {
    // A cycle (never in a valid workflow) leaves nodes unranked: they go last.
    const layer = depth.get(node.id) ?? queue.length;
    const row = rows.get(layer) ?? 0;
    rows.set(layer, row + 1);
    positions.set(node.id, { x: layer * (size.width + size.gapX), y: row * (size.height + size.gapY) });
  }
  return positions;
}

/** The nodes a `workflow.modified` change adds (`add_nodes`), as definitions. */
export function addedDefinitions(change: Readonly<Record<string, unknown>>): unknown[] {
  if (str(change, 'op') !== 'add_nodes') return [];
  const nodes = change.nodes;
  return Array.isArray(nodes) ? nodes : [];
}

/** The ids a `workflow.modified` change skips (`skip_nodes`), with its reason. */
export function skippedIds(change: Readonly<Record<string, unknown>>): { ids: string[]; reason: string | undefined } {
  if (str(change, 'op') !== 'skip_nodes') return { ids: [], reason: undefined };
  return { ids: strings(change, 'ids'), reason: str(change, 'reason') };
}

/** The object items of a `changes` array. */
export function changesOf(data: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>>[] {
  const changes = data.changes;
  if (!Array.isArray(changes)) return [];
  return changes.flatMap((change) => {
    const record = obj({ change }, 'change');
    return record ? [record] : [];
  });
}

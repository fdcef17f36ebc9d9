import { type NodeState, nodeIdsOf, pendingNode, type SessionState } from '../workflow/index.ts';
import type { ChunkEntry } from './chunks.ts';
import { BUCKET } from './node-buckets.ts';

/**
 * Rebuilds a state from its chunks. `chunk(hash)` returns a chunk's parsed, verified value.
 * @throws Error naming the first chunk that does not fit (the caller reports it as corrupt)
 */
export function assembleChunks(entries: readonly ChunkEntry[], chunk: (hash: string) => unknown): SessionState {
  const state = { workflows: {}, memory: {}, agents: {} } as unknown as SessionState & Record<string, unknown>;
  const workflows = state.workflows as unknown as Record<string, Record<string, unknown>>;
  const workflow = (id: string, path: string) => {
    const wf = workflows[id];
    if (!wf) throw new Error(`chunk ${path} comes before its workflow`);
    return wf;
  };
  for (const [path, hash] of entries) {
    const parts = path.split('/');
    const [area, id] = parts;
    if (path === 'session') Object.assign(state, chunk(hash));
    else if (area === 'workflows' && id !== undefined && parts.length === 2) {
      workflows[id] = { ...(chunk(hash) as object), nodes: {}, addedNodes: [] };
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'definition' && parts.length === 3) {
      workflow(id, path).definition = (chunk(hash) as { definition: unknown }).definition;
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'added' && parts.length === 3) {
      workflow(id, path).addedNodes = chunk(hash);
    } else if (area === 'workflows' && id !== undefined && parts[2]?.startsWith(BUCKET) && parts.length === 3) {
      const nodes = workflow(id, path).nodes as Record<string, unknown>;
      const bucket = chunk(hash);
      if (typeof bucket !== 'object' || bucket === null) throw new Error(`chunk ${path} holds no nodes`);
      for (const [nodeId, node] of Object.entries(bucket)) nodes[nodeId] = node;
    } else if (area === 'workflows' && id !== undefined && parts[2] === 'nodes' && parts.length > 3) {
      // Format 2: one chunk per node.
      (workflow(id, path).nodes as Record<string, unknown>)[parts.slice(3).join('/')] = chunk(hash);
    } else if (area === 'memory' && parts.length > 1) {
      // A memory key is an agent's choice: `__proto__` stays a key (as the reducer stores it).
      Object.defineProperty(state.memory, parts.slice(1).join('/'), {
        value: (chunk(hash) as { value: unknown }).value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (area === 'agents' && parts.length > 1) {
      (state.agents as Record<string, unknown>)[parts.slice(1).join('/')] = chunk(hash);
    } else throw new Error(`unknown chunk ${path}`);
  }
  for (const wf of Object.values(workflows)) wf.nodes = withPendingNodes(wf);
  return state;
}

/**
 * A workflow's nodes with those left out as pending (see chunks.ts) made again, in the
 * order the reducer makes them: the definition's, then those added at run time.
 */
function withPendingNodes(wf: Record<string, unknown>): Record<string, NodeState> {
  const stored = wf.nodes as Record<string, NodeState>;
  const added = Array.isArray(wf.addedNodes) ? (wf.addedNodes as Array<{ id?: unknown }>) : [];
  const ids = [
    ...nodeIdsOf(wf.definition),
    ...added.flatMap((node) => (typeof node?.id === 'string' ? [node.id] : [])),
  ];
  const nodes: Record<string, NodeState> = {};
  for (const id of ids) nodes[id] = Object.hasOwn(stored, id) ? (stored[id] as NodeState) : pendingNode(id);
  for (const id of Object.keys(stored)) if (!Object.hasOwn(nodes, id)) nodes[id] = stored[id] as NodeState;
  return nodes;
}

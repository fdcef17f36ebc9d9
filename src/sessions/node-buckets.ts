import { nodeIdsOf, type SessionState } from '../workflow/index.ts';

/**
 * Where a workflow's nodes are kept in a snapshot (see chunks.ts): in shared chunks,
 * `workflows/ID/nodes@B`, {@link NODES_PER_CHUNK} consecutive nodes each (`{nodeId: node}`),
 * or, for a node of {@link OWN_CHUNK_FROM_CHARS} or more, in its own, `workflows/ID/nodes/NODE`.
 */

export const WORKFLOWS = 'workflows/';
/** Before a node's id in the path of its own chunk (format 2's path of every node). */
export const NODES = 'nodes/';
/** Before a bucket's number in its path. */
export const BUCKET = 'nodes@';

/**
 * Nodes per chunk, in the order the workflow lists them (its definition's, then those added at
 * run time): a run mostly moves through its nodes in that order, so a version finds most
 * changed nodes in a few chunks. A 10,000-node run fits in 157 blobs.
 */
export const NODES_PER_CHUNK = 64;

/**
 * A node whose text is this long or longer has a chunk of its own (`workflows/ID/nodes/NODE`,
 * as in format 2): an agent's large output is then stored once, not again with every change of
 * its bucket's other nodes.
 */
export const OWN_CHUNK_FROM_CHARS = 1024;

/** FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * The canonical JSON of a bucket (`{nodeId: node}` with sorted keys) from its nodes' canonical
 * texts: what {@link canonicalJson} gives for the object, without serializing a node again.
 */
export function bucketText(members: ReadonlyMap<string, string>): string {
  const ids = [...members.keys()].sort();
  let out = '{';
  for (const id of ids) {
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(id)}:${members.get(id) as string}`;
  }
  return `${out}}`;
}

/** A workflow of the state by id; ids come from paths and events, so `__proto__` finds none. */
export function workflowIn(state: SessionState, workflowId: string): SessionState['workflows'][string] | undefined {
  return Object.hasOwn(state.workflows, workflowId) ? state.workflows[workflowId] : undefined;
}

/** Each workflow's node order (see {@link NODES_PER_CHUNK}), extended as nodes are added. */
export class NodeOrder {
  readonly #order = new Map<
    string,
    { definition: unknown; added: number; index: Map<string, number>; paths: string[] }
  >();

  /** The path of the bucket of node `nodeId` of workflow `workflowId` in `state`. */
  bucketOf(state: SessionState, workflowId: string, nodeId: string): string {
    const wf = workflowIn(state, workflowId);
    let order = this.#order.get(workflowId);
    if (order === undefined || order.definition !== wf?.definition) {
      const ids = nodeIdsOf(wf?.definition);
      order = { definition: wf?.definition, added: 0, index: new Map(ids.map((id, i) => [id, i])), paths: [] };
      this.#order.set(workflowId, order);
    }
    const added = wf?.addedNodes ?? [];
    while (order.added < added.length) {
      const id = (added[order.added++] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && !order.index.has(id)) order.index.set(id, order.index.size);
    }
    const i = order.index.get(nodeId);
    // A node the workflow does not list (none is made so) goes by a hash of its id.
    if (i === undefined) return `${WORKFLOWS}${workflowId}/${BUCKET}h${fnv1a(nodeId) % 64}`;
    // One string per bucket, made once: the chunker looks each changed node's bucket up in its
    // maps, and a string made anew per node was built and hashed every time.
    const bucket = Math.floor(i / NODES_PER_CHUNK);
    let path = order.paths[bucket];
    if (path === undefined) {
      path = `${WORKFLOWS}${workflowId}/${BUCKET}${bucket}`;
      order.paths[bucket] = path;
    }
    return path;
  }

  clear(): void {
    this.#order.clear();
  }
}

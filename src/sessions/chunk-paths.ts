import { isPendingNode, type NodeState, type SessionState } from '../workflow/index.ts';
import { WORKFLOWS, workflowIn } from './node-buckets.ts';

/**
 * The chunks a session state is cut into (see chunks.ts), by path: every chunk but the node
 * buckets, and the value at one path.
 */

/**
 * Calls `visit` with every chunk of the state but its node buckets (and, for a definition, the
 * object the chunk is made of), and `node` with every node in one.
 */
export function eachChunk(
  state: SessionState,
  visit: (path: string, value: unknown, source?: object) => void,
  node: (workflowId: string, node: NodeState) => void,
): void {
  const { workflows, memory, agents, ...session } = state;
  visit('session', session);
  for (const id of Object.keys(workflows)) {
    const { nodes, definition, addedNodes, ...header } = workflows[id] as SessionState['workflows'][string];
    visit(`workflows/${id}`, header);
    visit(
      `workflows/${id}/definition`,
      { definition },
      typeof definition === 'object' && definition !== null ? definition : undefined,
    );
    visit(`workflows/${id}/added`, addedNodes);
    for (const nodeId of Object.keys(nodes)) {
      const value = nodes[nodeId] as NodeState;
      if (!isPendingNode(value)) node(id, value);
    }
  }
  for (const key of Object.keys(memory)) visit(`memory/${key}`, { value: memory[key] });
  for (const id of Object.keys(agents)) visit(`agents/${id}`, agents[id]);
}

/** The value of the chunk at `path` in `state`, or {@link ABSENT}; the inverse of {@link eachChunk}. */
export function chunkValue(state: SessionState, path: string): unknown {
  if (path === 'session') {
    const { workflows: _w, memory: _m, agents: _a, ...session } = state;
    return session;
  }
  // Read with indexOf and slice, not split: a version's cuts look up every changed node's path.
  if (path.startsWith('memory/')) {
    const key = path.slice('memory/'.length);
    return Object.hasOwn(state.memory, key) ? { value: state.memory[key] } : ABSENT;
  }
  if (path.startsWith('agents/')) {
    const key = path.slice('agents/'.length);
    return Object.hasOwn(state.agents, key) ? state.agents[key] : ABSENT;
  }
  if (!path.startsWith(WORKFLOWS)) return ABSENT;
  const slash = path.indexOf('/', WORKFLOWS.length);
  const id = slash < 0 ? path.slice(WORKFLOWS.length) : path.slice(WORKFLOWS.length, slash);
  const wf = workflowIn(state, id);
  if (!wf) return ABSENT;
  if (slash < 0) {
    const { nodes: _n, definition: _d, addedNodes: _a, ...header } = wf;
    return header;
  }
  const rest = path.slice(slash + 1);
  if (rest === 'definition') return { definition: wf.definition };
  if (rest === 'added') return wf.addedNodes;
  return ABSENT;
}

/** What {@link chunkValue} gives for a path the state has no chunk at. */
export const ABSENT = Symbol('absent');

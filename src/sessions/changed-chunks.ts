import type { AnyEvent } from '../events/index.ts';
import type { SessionState } from '../workflow/index.ts';

/**
 * Which chunks of a state (see chunks.ts for their paths) events changed since the last
 * version, so a version cuts, hashes and writes only those instead of the whole state.
 */
export interface DirtyChunks {
  /** Something changed the state's shape (a workflow started, an answer closed requests): cut everything. */
  readonly all: boolean;
  /** Chunks other than nodes', by path. */
  readonly paths: ReadonlySet<string>;
  /** Changed nodes, by workflow id (the chunker knows which chunk holds each). */
  readonly nodes: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Notes the chunks each event applied to a state changes, read from the event itself: what
 * `applyEvent` (workflow/state.ts) does with each type, mirrored here. It must name every
 * chunk an event can change; naming one that did not change only costs a recut. Rare events
 * whose effect spreads (a workflow started, a fork, an answer) count as changing everything.
 *
 * Deriving the paths costs a string or two per event. Tracking the writes instead (a proxy
 * over the state, as the follower did first) made applying an event several times slower and
 * was a fifth of a fast run's CPU. `test/sessions/incremental.test.ts` checks this mirror:
 * a cut of the noted chunks equals a fresh cut of the whole state, for every event type.
 */
export class ChangedChunks {
  #all = false;
  #paths = new Set<string>();
  #nodes = new Map<string, Set<string>>();
  /** The node set of the workflow noted last (most events in a row are of one workflow). */
  #lastWorkflow: string | undefined;
  #lastNodes: Set<string> | undefined;

  /** Notes what `event` changed; called right after it was applied to `state`. */
  note(event: AnyEvent, state: SessionState): void {
    if (this.#all) return;
    if (!this.#noted(event, state)) {
      this.#all = true;
      this.#paths.clear();
      this.#nodes.clear();
      this.#lastWorkflow = undefined;
    }
  }

  /**
   * Notes a node, and its workflow's header with it: most events that change a node refresh
   * its workflow's status too, and for the others a recut header costs little. The header's
   * path is noted when the workflow changes from the last one noted, not at every event (a
   * string made and hashed per event was a third of the noting).
   */
  #node(workflowId: string, nodeId: string): void {
    if (workflowId !== this.#lastWorkflow) {
      this.#paths.add(`workflows/${workflowId}`);
      let nodes = this.#nodes.get(workflowId);
      if (nodes === undefined) {
        nodes = new Set();
        this.#nodes.set(workflowId, nodes);
      }
      this.#lastWorkflow = workflowId;
      this.#lastNodes = nodes;
    }
    (this.#lastNodes as Set<string>).add(nodeId);
  }

  /** Adds the chunks `event` changed; false when it may have changed any. */
  #noted(event: AnyEvent, state: SessionState): boolean {
    const paths = this.#paths;
    // Every event moves `lastSeq`, and one naming a control clears it: both in the session chunk.
    paths.add('session');
    const data = event.data as { workflowId?: unknown; nodeId?: unknown };
    const workflowId = typeof data.workflowId === 'string' ? data.workflowId : undefined;
    switch (event.type) {
      case 'node.queued':
      case 'node.started':
      case 'node.completed':
      case 'node.failed':
      case 'node.interrupted':
      case 'node.skipped':
      case 'node.cancelled':
      case 'node.compensating':
      case 'node.compensated':
        // The workflow's header too (see #node): its status is refreshed after every event of it.
        if (workflowId === undefined) return false;
        this.#node(workflowId, event.data.nodeId);
        return true;
      case 'workflow.paused':
      case 'workflow.resumed':
      case 'workflow.cancel_requested':
      case 'workflow.rolling_back':
      case 'workflow.completed':
        if (workflowId === undefined) return false;
        paths.add(`workflows/${workflowId}`);
        return true;
      case 'workflow.modified': {
        if (workflowId === undefined) return false;
        paths.add(`workflows/${workflowId}`);
        paths.add(`workflows/${workflowId}/added`);
        // An added node starts pending (no chunk), replacing any node of that id.
        for (const change of event.data.changes) {
          if (change.op !== 'add_nodes' || !Array.isArray(change.nodes)) continue;
          for (const node of change.nodes as Array<{ id?: unknown }>) {
            if (typeof node?.id === 'string') this.#node(workflowId, node.id);
          }
        }
        return true;
      }
      case 'input.requested':
        // Without a workflow, every workflow's status is refreshed.
        if (workflowId === undefined) return false;
        paths.add(`workflows/${workflowId}`);
        if (typeof data.nodeId === 'string') this.#node(workflowId, data.nodeId);
        return true;
      case 'memory.set':
        paths.add(`memory/${event.data.key}`);
        return true;
      case 'agent.spawned':
      case 'agent.progress':
      case 'agent.state_changed':
        paths.add(`agents/${event.data.agentId}`);
        return true;
      case 'agent.completed':
      case 'agent.failed': {
        paths.add(`agents/${event.data.agentId}`);
        // A completed agent's output is kept on its node while the node runs.
        const agent = Object.hasOwn(state.agents, event.data.agentId) ? state.agents[event.data.agentId] : undefined;
        if (agent?.workflowId !== undefined && agent.nodeId !== undefined) {
          this.#node(agent.workflowId, agent.nodeId);
        }
        return true;
      }
      case 'control.requested':
      case 'security.granted':
      case 'security.revoked':
      case 'session.imported':
        return true;
      // A fork marks every agent inherited; an answer or a closed request can touch any
      // workflow's requests and nodes; a started workflow replaces one whole; a created
      // session refreshes every workflow's status.
      case 'session.forked':
      case 'input.closed':
      case 'user.input':
      case 'workflow.started':
      case 'session.created':
        return false;
      default:
        // Every other type is not projected: only `lastSeq` and a named control change.
        return true;
    }
  }

  /**
   * How many chunks a cut of what changed looks at: the nodes and other chunks noted, or every
   * node and chunk of `state` when anything may have changed or the cut is `whole` (its chunker
   * has not cut yet). What the cut costs, roughly.
   */
  size(state: SessionState, whole = false): number {
    if (!whole && !this.#all) {
      let size = this.#paths.size;
      for (const nodes of this.#nodes.values()) size += nodes.size;
      return size;
    }
    // Nodes counted from the definition and the nodes added since, not listed: a list of the
    // keys of 10,000 nodes, at every decision of the follower, showed in a fast run's profile.
    let size = 1 + Object.keys(state.memory).length + Object.keys(state.agents).length;
    for (const wf of Object.values(state.workflows)) {
      const defined = (wf.definition as { nodes?: unknown } | undefined)?.nodes;
      size += 3 + (Array.isArray(defined) ? defined.length : 0) + wf.addedNodes.length;
    }
    return size;
  }

  /** What changed since the last call, and starts over. */
  take(): DirtyChunks {
    const taken = { all: this.#all, paths: this.#paths, nodes: this.#nodes };
    this.#all = false;
    this.#paths = new Set();
    this.#nodes = new Map();
    this.#lastWorkflow = undefined;
    return taken;
  }
}

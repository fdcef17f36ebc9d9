import type { SessionState } from '../workflow/index.ts';

/** A readable account of what changed between two versions. */
export interface DiffSummary {
  /** Nodes whose state changed (`from` null: added at run time). */
  readonly nodes: Array<{ workflowId: string; nodeId: string; from: string | null; to: string | null }>;
  readonly memory: { added: string[]; removed: string[]; changed: string[] };
  /** Complete assistant messages of agents between the two versions. */
  readonly messagesAdded: number;
  readonly costAddedUsd: number;
  readonly eventsAdded: number;
  /** Workspace files changed, when both versions recorded the workspace. */
  readonly files: string[] | null;
}

/** Summarizes the change from state `a` to state `b`. */
export function summarizeDiff(
  a: SessionState,
  b: SessionState,
  extra: { messagesAdded: number; eventsAdded: number; files: string[] | null },
): DiffSummary {
  const nodes: DiffSummary['nodes'] = [];
  for (const workflowId of new Set([...Object.keys(a.workflows), ...Object.keys(b.workflows)])) {
    const before = a.workflows[workflowId]?.nodes ?? {};
    const after = b.workflows[workflowId]?.nodes ?? {};
    for (const nodeId of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const from = before[nodeId]?.status ?? null;
      const to = after[nodeId]?.status ?? null;
      if (from !== to) nodes.push({ workflowId, nodeId, from, to });
    }
  }
  const cost = (s: SessionState) => Object.values(s.agents).reduce((sum, agent) => sum + agent.costUsd, 0);
  return {
    nodes,
    memory: {
      added: Object.keys(b.memory).filter((k) => !(k in a.memory)),
      removed: Object.keys(a.memory).filter((k) => !(k in b.memory)),
      changed: Object.keys(b.memory).filter(
        (k) => k in a.memory && JSON.stringify(a.memory[k]) !== JSON.stringify(b.memory[k]),
      ),
    },
    messagesAdded: extra.messagesAdded,
    costAddedUsd: Math.round((cost(b) - cost(a)) * 1e6) / 1e6,
    eventsAdded: extra.eventsAdded,
    files: extra.files,
  };
}

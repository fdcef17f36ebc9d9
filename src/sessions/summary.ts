import type { SessionState } from '../workflow/index.ts';

/** A readable account of what changed between two versions. */
export interface DiffSummary {
  /** Nodes whose state changed (`from` null: added at run time). */
  readonly nodes: Array<{ workflowId: string; nodeId: string; from: string | null; to: string | null }>;
  readonly memory: { added: string[]; removed: string[]; changed: string[] };
  /** Complete assistant messages of agents between the two versions. */
  readonly messagesAdded: number;
  /**
   * Cost spent between the two, priced as `sessions show` prices it (the monitor's figures:
   * wire usage behind the gateway, else each attempt's usage per model).
   */
  readonly costAddedUsd: number;
  /** Claude Code's own estimate of the same, for comparison (it misses attempts that never reported). */
  readonly sdkCostAddedUsd: number;
  readonly eventsAdded: number;
  /** Workspace files changed, when both versions recorded the workspace. */
  readonly files: string[] | null;
}

/** A session's cost at one point of its log. */
export interface CostAt {
  readonly costUsd: number;
  readonly sdkCostUsd: number;
}

/** Summarizes the change from state `a` to state `b`. */
export function summarizeDiff(
  a: SessionState,
  b: SessionState,
  extra: {
    messagesAdded: number;
    eventsAdded: number;
    files: string[] | null;
    /** The session's cost and Claude Code's estimate at `a` and at `b` (the monitor's figures). */
    cost: { readonly a: CostAt; readonly b: CostAt };
  },
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
    costAddedUsd: Math.round((extra.cost.b.costUsd - extra.cost.a.costUsd) * 1e6) / 1e6,
    sdkCostAddedUsd: Math.round((extra.cost.b.sdkCostUsd - extra.cost.a.sdkCostUsd) * 1e6) / 1e6,
    eventsAdded: extra.eventsAdded,
    files: extra.files,
  };
}

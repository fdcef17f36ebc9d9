import { emptyFigures, type Figures, mergeFigures } from './figures.ts';
import type { MetricsState } from './metrics-state.ts';

/** How `orchestrator stats` groups figures: by agent type, by workflow name, by day (UTC) of the agent's start. */
export type StatsGrouping = 'agent-type' | 'workflow' | 'day';

/** One row of a summary: the figures of every agent in the group. */
export interface StatsRow extends Figures {
  readonly key: string;
  /** Sessions with at least one agent in the group. */
  sessions: number;
}

/** A summary over sessions: one row per group, most expensive first, and the total. */
export interface StatsSummary {
  readonly by: StatsGrouping;
  readonly rows: StatsRow[];
  readonly total: StatsRow;
}

/**
 * Sums the figures of every agent of the given sessions by agent type, workflow or day. Each
 * agent's figures (tokens, cost, turns, tool calls, errors, times) count once, in its group;
 * a session counts in every group one of its agents is in.
 */
export function summarize(sessions: Iterable<MetricsState>, by: StatsGrouping): StatsSummary {
  const rows = new Map<string, { row: StatsRow; sessions: Set<string> }>();
  const total: StatsRow = { ...emptyFigures(), key: 'total', sessions: 0 };
  const allSessions = new Set<string>();
  for (const metrics of sessions) {
    for (const agent of Object.values(metrics.agents)) {
      const key = groupOf(metrics, agent, by);
      let group = rows.get(key);
      if (!group) {
        group = { row: { ...emptyFigures(), key, sessions: 0 }, sessions: new Set() };
        rows.set(key, group);
      }
      mergeFigures(group.row, agent);
      group.sessions.add(metrics.sessionId);
      mergeFigures(total, agent);
      allSessions.add(metrics.sessionId);
    }
  }
  const out = [...rows.values()].map(({ row, sessions }) => {
    row.sessions = sessions.size;
    return row;
  });
  total.sessions = allSessions.size;
  out.sort((a, b) => (by === 'day' ? a.key.localeCompare(b.key) : b.costUsd - a.costUsd || a.key.localeCompare(b.key)));
  return { by, rows: out, total };
}

function groupOf(metrics: MetricsState, agent: MetricsState['agents'][string], by: StatsGrouping): string {
  switch (by) {
    case 'agent-type':
      return agent.agentType;
    case 'workflow': {
      const wf = agent.workflowId === undefined ? undefined : metrics.workflows[agent.workflowId];
      return wf?.name ?? '(no workflow)';
    }
    case 'day':
      return agent.spawnedAt.slice(0, 10);
  }
}

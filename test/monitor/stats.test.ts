import { describe, expect, it } from 'vitest';
import { replayMetrics, summarize } from '../../src/monitor/index.ts';
import { EventRecorder, featureTeamEvents } from './kit.ts';

// Summaries over sessions for `orchestrator stats`: every agent's figures count once, in its group.

function sessions() {
  const demo = featureTeamEvents();
  const a = new EventRecorder('ses_a', Date.parse('2025-06-01T10:00:00Z')).start('wf_a', {
    name: 'nightly',
    nodes: [],
  });
  a.spawn('agt_a1', { workflowId: 'wf_a', agentType: 'coder' }).usage('agt_a1', 1000, 100);
  a.spawn('agt_a2', { workflowId: 'wf_a', agentType: 'reviewer' }).usage('agt_a2', 500, 10);
  const b = new EventRecorder('ses_b', Date.parse('2025-06-02T23:59:00Z')).start('wf_b', {
    name: 'nightly',
    nodes: [],
  });
  b.spawn('agt_b1', { workflowId: 'wf_b', agentType: 'coder' }).usage('agt_b1', 2000, 0);
  return [
    replayMetrics(demo[0]?.sessionId as string, demo),
    replayMetrics('ses_a', a.events),
    replayMetrics('ses_b', b.events),
  ];
}

describe('summarize', () => {
  const all = sessions();
  const totalCost = all.reduce((sum, m) => sum + m.session.costUsd, 0);
  const totalInput = all.reduce((sum, m) => sum + m.session.inputTokens, 0);

  it('groups by agent type, most expensive first, with a total that matches the sessions', () => {
    const summary = summarize(all, 'agent-type');
    expect(summary.rows.map((row) => row.key)).toEqual(['coder', 'planner', 'lead', 'reviewer']);
    const coder = summary.rows[0];
    expect(coder).toMatchObject({ agents: 5, sessions: 3 });
    expect(summary.total.sessions).toBe(3);
    expect(summary.total.agents).toBe(9);
    expect(summary.total.costUsd).toBeCloseTo(totalCost, 9);
    expect(summary.total.inputTokens).toBe(totalInput);
    const rowSum = summary.rows.reduce((sum, row) => sum + row.costUsd, 0);
    expect(rowSum).toBeCloseTo(totalCost, 9);
  });

  it('groups by workflow name and by day (UTC) of the agent start', () => {
    const byWorkflow = summarize(all, 'workflow');
    expect(byWorkflow.rows.map((row) => [row.key, row.sessions, row.agents])).toEqual([
      ['feature-team', 1, 6],
      ['nightly', 2, 3],
    ]);
    const byDay = summarize(all, 'day');
    expect(byDay.rows.map((row) => row.key)).toEqual([
      '2025-06-01',
      '2025-06-02',
      featureTeamEvents()[0]?.ts.slice(0, 10),
    ]);
    expect(byDay.rows[1]).toMatchObject({ agents: 1, inputTokens: 2000 });
  });
});

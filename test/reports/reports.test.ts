import { describe, expect, it } from 'vitest';
import { replayMetrics, summarize } from '../../src/monitor/index.ts';
import {
  applyReportEvent,
  emptyReportDraft,
  finishReport,
  projectSessionReport,
  sessionReport,
  sessionReportSchema,
  sessionRowSchema,
  sessionRows,
  statistics,
  statisticsReportSchema,
} from '../../src/reports/index.ts';
import { EventRecorder, featureTeamEvents } from '../monitor/kit.ts';
import { memorySource } from './kit.ts';

// The read models the CLI prints and the HTTP API serves, over a real run's events (the demo's
// recorded log) and small recorded sessions.

const demo = featureTeamEvents();
const demoId = demo[0]?.sessionId as string;

function nightly(sessionId: string, start: string) {
  const run = new EventRecorder(sessionId, Date.parse(start)).start('wf_n', { name: 'nightly', nodes: [] });
  run.spawn(`agt_${sessionId}`, { workflowId: 'wf_n', agentType: 'coder' }).usage(`agt_${sessionId}`, 1000, 100);
  return run.events;
}

describe('session report', () => {
  it('counts events by type and carries the metrics of a full replay', () => {
    const report = projectSessionReport(demoId, demo);
    expect(report.events).toBe(demo.at(-1)?.seq);
    expect(report.firstEventAt).toBe(demo[0]?.ts);
    expect(report.lastEventAt).toBe(demo.at(-1)?.ts);
    expect(Object.values(report.byType).reduce((a, b) => a + b, 0)).toBe(demo.length);
    expect(report.byType['agent.spawned']).toBe(6);
    expect(report.metrics).toEqual(replayMetrics(demoId, demo));
    expect(report).toMatchObject({ status: 'completed', resumable: false, downtimeMs: 0 });
    expect(report.cost.costUsd).toBeCloseTo(report.metrics.session.costUsd, 9);
    expect(sessionReportSchema.parse(JSON.parse(JSON.stringify(report)))).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('is kept current event by event: a draft carried on from half the log reports as the whole projection', () => {
    const half = Math.floor(demo.length / 2);
    const draft = emptyReportDraft(demoId);
    for (const event of demo.slice(0, half)) applyReportEvent(draft, event);
    expect(finishReport(draft).events).toBe(demo[half - 1]?.seq);
    // A report of a gone owner settles its agents on a copy: the draft carries on unchanged.
    const gone = { lease: undefined, alive: false };
    const before = structuredClone(draft.metrics);
    finishReport(draft, gone);
    expect(draft.metrics).toEqual(before);
    for (const event of demo.slice(half)) applyReportEvent(draft, event);
    expect(finishReport(draft)).toEqual(projectSessionReport(demoId, demo));
    expect(finishReport(draft, gone)).toEqual(projectSessionReport(demoId, demo, gone));
  });

  it('reads a stored session, and names the session and the store when there is none', async () => {
    const source = memorySource([[demoId, demo]]);
    expect(await sessionReport(source, demoId)).toEqual(projectSessionReport(demoId, demo));
    await expect(sessionReport(source, 'ses_nope')).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
      message: 'no session "ses_nope" in the memory store',
    });
  });
});

describe('statistics and rows', () => {
  const a = nightly('ses_a', '2025-06-01T10:00:00Z');
  const b = nightly('ses_b', '2025-06-02T10:00:00Z');
  const source = memorySource([
    [demoId, demo],
    ['ses_a', a],
    ['ses_b', b],
  ]);

  it('summarizes every stored session, or the newest N', async () => {
    const all = await statistics(source, { by: 'workflow' });
    expect(all).toEqual({
      ...summarize([replayMetrics('ses_b', b), replayMetrics('ses_a', a), replayMetrics(demoId, demo)], 'workflow'),
      skipped: [],
    });
    expect(statisticsReportSchema.parse(all)).toEqual(all);
    const newest = await statistics(source, { sessions: 1 });
    expect(newest.total).toMatchObject({ sessions: 1, agents: 1, inputTokens: 1000 });
    expect(newest.by).toBe('agent-type');
  });

  it('lists sessions newest first, at most the limit', async () => {
    const rows = await sessionRows(source, { limit: 2 });
    expect(rows.map((row) => row.sessionId)).toEqual(['ses_b', 'ses_a']);
    for (const row of rows) expect(sessionRowSchema.parse(row)).toEqual(row);
    expect((await sessionRows(source, { before: 'ses_a' })).map((row) => row.sessionId)).toEqual([demoId]);
  });
});

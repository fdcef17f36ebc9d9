import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors/index.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { replayMetrics } from '../../src/monitor/index.ts';
import {
  countEachSpendOnce,
  projectSessionReport,
  sessionReport,
  sessionReportSchema,
  sessionRows,
  statistics,
  statisticsReportSchema,
} from '../../src/reports/index.ts';
import type { Lease } from '../../src/store/index.ts';
import { EventRecorder } from '../monitor/kit.ts';
import { memorySource } from './kit.ts';

// The read models tell the truth about sessions whose process died, forks and imports, and
// damaged sessions: pure projections over recorded events, and the async readers over a
// memory source.

/** One agent that answers once ($0.0045 at the Sonnet price) and completes, reporting $0.006. */
function oneAgentRun(sessionId: string, start = '2025-06-01T10:00:00Z'): EventRecorder {
  const run = new EventRecorder(sessionId, Date.parse(start)).start('wf_1', { name: 'flow', nodes: [{ id: 'a' }] });
  run.spawn(`agt_${sessionId}`, { nodeId: 'a' }).wait(1000).usage(`agt_${sessionId}`, 1000, 100);
  run.add('agent.completed', {
    agentId: `agt_${sessionId}`,
    costUsd: 0.006,
    usage: { inputTokens: 1000, outputTokens: 100 },
  });
  return run;
}

/** A run killed while its agent was answering: no result, no workflow end. */
function killedRun(sessionId: string): AnyEvent[] {
  const run = new EventRecorder(sessionId).start('wf_1', { name: 'flow', nodes: [{ id: 'a' }] });
  run.spawn('agt_1', { nodeId: 'a' }).wait(1000).usage('agt_1', 1000, 100);
  run.add('agent.state_changed', { agentId: 'agt_1', from: 'thinking', to: 'responding' });
  return run.events;
}

const lease = (alive: boolean): Lease => ({
  sessionId: 'ses_killed',
  token: 1,
  ownerId: 'o1',
  host: 'elsewhere',
  pid: 4242,
  acquiredAt: '2025-06-01T10:00:00.000Z',
  expiresAt: alive ? '2999-01-01T00:00:00.000Z' : '2025-06-01T10:00:30.000Z',
});

describe('a session whose process died', () => {
  it('is interrupted and resumable when no live process owns it; its agents ended, its cost explained', () => {
    const report = projectSessionReport('ses_killed', killedRun('ses_killed'), { lease: lease(false), alive: false });
    expect(report).toMatchObject({ status: 'interrupted', resumable: true });
    expect(report.owner).toBeUndefined();
    expect(report.metrics.agents.agt_1).toMatchObject({ outcome: 'interrupted', active: false });
    expect(report.metrics.workflows.wf_1?.status).toBe('interrupted');
    expect(report.metrics.session.interruptions).toBe(1);
    // Spent (priced from its response), never reported by Claude Code: the whole difference.
    expect(report.cost).toMatchObject({ sdkCostUsd: 0, unreportedAgents: 1, pricingUsd: 0, pricedFrom: 'usage' });
    expect(report.cost.unreportedUsd).toBeCloseTo(0.0045, 9);
    expect(report.cost.differenceUsd).toBeCloseTo(0.0045, 9);
    expect(sessionReportSchema.parse(report)).toEqual(report);
  });

  it('is running, with its owner, while a live process owns it; its agents untouched', () => {
    const report = projectSessionReport('ses_killed', killedRun('ses_killed'), { lease: lease(true), alive: true });
    expect(report).toMatchObject({ status: 'running', resumable: false, owner: { host: 'elsewhere', pid: 4242 } });
    expect(report.metrics.agents.agt_1).toMatchObject({ state: 'responding', active: true });
  });

  it('asks the source whether the lease’s owner lives (the lease alone is not enough)', async () => {
    const events = killedRun('ses_killed');
    const dead = memorySource([['ses_killed', events]], { ses_killed: lease(true) });
    const verdicts: number[] = [];
    const ownerAlive = (l: Lease) => {
      verdicts.push(l.pid);
      return false;
    };
    const source = { ...dead, ownerAlive };
    expect((await sessionReport(source, 'ses_killed')).status).toBe('interrupted');
    expect(verdicts).toEqual([4242]);
    expect((await sessionReport(dead, 'ses_killed')).status).toBe('running');
    const rows = await sessionRows(source);
    expect(rows[0]).toMatchObject({ status: 'interrupted', resumable: true, workflow: 'flow', agents: 1 });
  });
});

describe('forks and imports count each spend once', () => {
  const origin = oneAgentRun('ses_origin');
  // The fork copies the origin's log, then runs an agent of its own.
  const fork = new EventRecorder('ses_fork', Date.parse('2025-06-02T10:00:00Z'));
  for (const event of origin.events) fork.add(event.type, event.data as never);
  fork.add('session.forked', { fromSessionId: 'ses_origin', fromSeq: origin.events.length });
  fork.add('session.resumed', { fromSeq: origin.events.length + 1 });
  fork.spawn('agt_fork', { nodeId: 'a' }).usage('agt_fork', 2000, 0);
  fork.add('agent.completed', { agentId: 'agt_fork', costUsd: 0.006 });
  // An import of the origin's export under another id.
  const imported = new EventRecorder('ses_imported', Date.parse('2025-06-03T10:00:00Z'));
  for (const event of origin.events) imported.add(event.type, event.data as never);
  imported.add('session.imported', {
    fromSessionId: 'ses_origin',
    fromStore: 'sqlite',
    exportedAt: '2025-06-03T09:00:00Z',
    formatVersion: 2,
    workspace: '/tmp/ws',
    filesRestored: true,
    versions: 0,
    transcripts: 0,
  });
  const originCost = replayMetrics('ses_origin', origin.events).session.costUsd;

  it('a fork carries its origin and what it inherited', () => {
    const report = projectSessionReport('ses_fork', fork.events);
    expect(report.origin).toMatchObject({
      kind: 'fork',
      fromSessionId: 'ses_origin',
      inheritedAgents: 1,
      earlier: [],
    });
    expect(report.origin?.inheritedCostUsd).toBeCloseTo(originCost, 9);
    expect(report.cost.inheritedUsd).toBeCloseTo(originCost, 9);
    expect(report.metrics.agents.agt_fork?.inheritedFrom).toBeUndefined();
  });

  it('stats counts the origin’s run once, beside the fork’s own agent', async () => {
    const source = memorySource([
      ['ses_origin', origin.events],
      ['ses_fork', fork.events],
      ['ses_imported', imported.events],
    ]);
    const summary = await statistics(source);
    const forkOwn = replayMetrics('ses_fork', fork.events).agents.agt_fork?.costUsd ?? 0;
    expect(summary.total.agents).toBe(2);
    expect(summary.total.costUsd).toBeCloseTo(originCost + forkOwn, 9);
    expect(summary.total.sessions).toBe(2);
    expect(statisticsReportSchema.parse(summary)).toEqual(summary);
  });

  it('an origin absent from the store is counted once, from the copy that holds the most of it', () => {
    const sessions = [replayMetrics('ses_fork', fork.events), replayMetrics('ses_imported', imported.events)];
    const counted = countEachSpendOnce(sessions, new Set());
    const inherited = counted.flatMap((m) => Object.values(m.agents).filter((a) => a.inheritedFrom === 'ses_origin'));
    expect(inherited).toHaveLength(1);
    // With the origin present, no copy counts it.
    const none = countEachSpendOnce(sessions, new Set(['ses_origin']));
    expect(none.flatMap((m) => Object.keys(m.agents))).toEqual(['agt_fork']);
  });
});

describe('a damaged session', () => {
  it('is left out of stats with its reason, the others summed', async () => {
    const good = oneAgentRun('ses_good');
    const damaged = new OrchestratorError('STORE_CORRUPT', 'event 7 of ses_bad failed its checksum');
    const summary = await statistics(
      memorySource([
        ['ses_good', good.events],
        ['ses_bad', damaged],
      ]),
    );
    expect(summary.skipped).toEqual([
      { sessionId: 'ses_bad', code: 'STORE_CORRUPT', message: 'event 7 of ses_bad failed its checksum' },
    ]);
    expect(summary.total).toMatchObject({ sessions: 1, agents: 1 });
    const rows = await sessionRows(memorySource([['ses_bad', damaged]]));
    expect(rows[0]).toMatchObject({ sessionId: 'ses_bad', unreadable: 'STORE_CORRUPT' });
  });

  it('but a store that cannot be reached ends the command', async () => {
    const down = new OrchestratorError('STORE_UNAVAILABLE', 'connection refused');
    await expect(statistics(memorySource([['ses_x', down]]))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('session rows: filters and the offline label', () => {
  it('filters by status and workflow across pages, and labels scripted runs simulated', async () => {
    const killed = killedRun('ses_killed');
    const finished = oneAgentRun('ses_done');
    finished.add('workflow.completed', { workflowId: 'wf_1', status: 'completed' });
    const done = finished.events;
    const scripted = new EventRecorder('ses_offline', Date.parse('2025-06-04T10:00:00Z'));
    scripted.add('session.created', { model: { kind: 'scripted', scenario: '/tmp/demo.yaml' } });
    const source = memorySource(
      [
        ['ses_killed', killed],
        ['ses_done', done],
        ['ses_offline', scripted.events],
      ],
      { ses_killed: lease(false) },
    );
    const interrupted = await sessionRows(source, { statuses: ['interrupted'] });
    expect(interrupted.map((r) => r.sessionId)).toEqual(['ses_killed']);
    expect(interrupted[0]).toMatchObject({ resumable: true, workflow: 'flow' });
    expect((await sessionRows(source, { workflow: 'flow', limit: 1 })).length).toBe(1);
    expect((await sessionRows(source, { workflow: 'other' })).length).toBe(0);
    const offline = (await sessionRows(source)).find((r) => r.sessionId === 'ses_offline');
    expect(offline?.simulated).toBe(true);
    expect((await sessionRows(source)).find((r) => r.sessionId === 'ses_done')?.simulated).toBe(false);
  });
});

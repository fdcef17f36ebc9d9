import { describe, expect, it } from 'vitest';
import { applyMetricsEvent, type MetricsState, replayMetrics, settleGoneOwner } from '../../src/monitor/index.ts';
import { EventRecorder } from './kit.ts';

// What a crash does to the figures, as the log tells it: the dead process records nothing more,
// so the next owner's first events must end its agents and mark the time nobody ran the session.

const LEASE = {
  ownerId: 'o1',
  host: 'vm',
  pid: 1,
  acquiredAt: '2025-06-01T10:00:00.000Z',
  expiresAt: '2025-06-01T10:01:00.000Z',
};

/** Three agents started under a cap of 2 (c waits), a completes, b and c are running when the process dies. */
function crashedRun(): EventRecorder {
  const run = new EventRecorder('ses_crash').start('wf_1', {
    name: 'wide',
    nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
  });
  run.spawn('agt_a', { nodeId: 'a' }).spawn('agt_b', { nodeId: 'b' });
  run.wait(1000).usage('agt_a', 1000, 100).usage('agt_b', 1000, 100);
  run.add('agent.completed', { agentId: 'agt_a', costUsd: 0.006, usage: { inputTokens: 1000, outputTokens: 100 } });
  // The next start is recorded before a's state change: a start must not be counted beside a.
  run.add('node.completed', { workflowId: 'wf_1', nodeId: 'a', attempt: 1 });
  run.spawn('agt_c', { nodeId: 'c' });
  run.add('agent.state_changed', { agentId: 'agt_a', from: 'responding', to: 'completed' });
  run.wait(2000).usage('agt_c', 500, 10);
  return run;
}

/** The crashed run, taken over a minute later, its two interrupted nodes run again to the end. */
function resumedRun(): EventRecorder {
  const run = crashedRun();
  run.wait(60_000);
  run.add('session.taken_over', {
    previous: LEASE,
    reason: 'owner_dead',
    owner: { ownerId: 'o2', host: 'vm', pid: 2 },
  });
  run.add('session.resumed', { fromSeq: run.events.length });
  for (const nodeId of ['b', 'c']) {
    run.add('node.interrupted', { workflowId: 'wf_1', nodeId, attempt: 1, reason: 'the process running it ended' });
  }
  run.spawn('agt_b2', { nodeId: 'b' }).spawn('agt_c2', { nodeId: 'c' });
  run.wait(1000).usage('agt_b2', 1000, 100).usage('agt_c2', 1000, 100);
  for (const [agentId, nodeId] of [
    ['agt_b2', 'b'],
    ['agt_c2', 'c'],
  ] as const) {
    run.add('agent.completed', { agentId, costUsd: 0.006, usage: { inputTokens: 1000, outputTokens: 100 } });
    run.add('agent.state_changed', { agentId, from: 'responding', to: 'completed' });
    run.add('node.completed', { workflowId: 'wf_1', nodeId, attempt: 2 });
  }
  run.add('workflow.completed', { workflowId: 'wf_1', status: 'completed' });
  return run;
}

describe('figures after a crash and a resume', () => {
  const run = resumedRun();
  const metrics = replayMetrics(run.sessionId, run.events);

  it('ends the dead process’s agents as interrupted at its last event, and counts them', () => {
    const lastOfDead = run.events.find((e) => e.type === 'session.taken_over');
    const before = run.events[(lastOfDead?.seq ?? 0) - 2];
    for (const agentId of ['agt_b', 'agt_c']) {
      expect(metrics.agents[agentId]).toMatchObject({
        outcome: 'interrupted',
        state: 'interrupted',
        active: false,
        endedAt: before?.ts,
      });
    }
    expect(metrics.session.interruptions).toBe(2);
    expect(metrics.session.activeAgents).toBe(0);
    expect(metrics.workflows.wf_1?.nodes.b?.nodeInterruptions).toBe(1);
  });

  it('keeps peak concurrency as it was: 2, never the dead agents beside the new ones', () => {
    expect(metrics.session.peakConcurrency).toBe(2);
  });

  it('leaves the minute nobody ran the session out of durations', () => {
    const wf = metrics.workflows.wf_1;
    const wall = Date.parse(wf?.endedAt ?? '') - Date.parse(wf?.startedAt ?? '');
    expect(wf?.downtimeMs).toBe(60_000);
    expect(wf?.durationMs).toBe(wall - 60_000);
    expect(metrics.downtime).toHaveLength(1);
    // Node b started before the crash and completed after it: its duration leaves the gap out too.
    const b = wf?.nodes.b;
    expect(b?.durationMs).toBe(Date.parse(b?.endedAt ?? '') - Date.parse(b?.startedAt ?? '') - 60_000);
  });

  it('notes the spend Claude Code never reported, which is all its estimate lacks', () => {
    // b and c answered before the crash (their spend counted from the responses) and never
    // reported a result; the three agents that did reported $0.006 each.
    const unreported = (metrics.agents.agt_b?.unreportedUsd ?? 0) + (metrics.agents.agt_c?.unreportedUsd ?? 0);
    expect(metrics.agents.agt_b?.unreportedUsd).toBeGreaterThan(0);
    expect(metrics.agents.agt_c?.unreportedUsd).toBeGreaterThan(0);
    expect(metrics.session.sdkCostUsd).toBeCloseTo(3 * 0.006, 9);
    expect(metrics.session.costUsd - metrics.session.sdkCostUsd).toBeCloseTo(unreported, 9);
  });

  it('gives the same figures from a JSON snapshot taken before the takeover plus the later events', () => {
    const cut = run.events.findIndex((e) => e.type === 'session.taken_over');
    const snapshot: MetricsState = JSON.parse(JSON.stringify(replayMetrics(run.sessionId, run.events.slice(0, cut))));
    for (const event of run.events.slice(cut)) applyMetricsEvent(snapshot, event);
    expect(snapshot).toEqual(metrics);
  });
});

describe('figures of a session whose owner is gone and nobody resumed', () => {
  it('ends its agents and marks the unfinished workflow interrupted, at its last event', () => {
    const run = crashedRun();
    const metrics = settleGoneOwner(replayMetrics(run.sessionId, run.events));
    expect(metrics.workflows.wf_1?.status).toBe('interrupted');
    expect(metrics.agents.agt_b).toMatchObject({ outcome: 'interrupted', endedAt: run.events.at(-1)?.ts });
    expect(metrics.session).toMatchObject({ activeAgents: 0, interruptions: 2, peakConcurrency: 2 });
  });

  it('leaves a paused workflow paused (nothing was running)', () => {
    const run = new EventRecorder('ses_paused').start();
    run.add('workflow.paused', { workflowId: 'wf_1', reason: 'budget' });
    expect(settleGoneOwner(replayMetrics(run.sessionId, run.events)).workflows.wf_1?.status).toBe('paused');
  });
});

describe('other truths of the figures', () => {
  it('counts a start recorded before the previous agent’s state change once (cap 1: at most 1)', () => {
    const run = new EventRecorder().start();
    run.spawn('agt_1');
    run.add('agent.completed', { agentId: 'agt_1' });
    run.spawn('agt_2');
    run.add('agent.state_changed', { agentId: 'agt_1', from: 'thinking', to: 'completed' });
    expect(replayMetrics(run.sessionId, run.events).session.peakConcurrency).toBe(1);
  });

  it('shows a rolled-back workflow as rolled back, with its compensations', () => {
    const run = new EventRecorder().start();
    run.add('workflow.rolling_back', { workflowId: 'wf_1', reason: 'b failed' });
    expect(replayMetrics(run.sessionId, run.events).workflows.wf_1?.status).toBe('rolling_back');
    run.add('node.compensated', { workflowId: 'wf_1', nodeId: 'a', ok: true });
    run.add('workflow.completed', { workflowId: 'wf_1', status: 'failed', rolledBack: true });
    expect(replayMetrics(run.sessionId, run.events).workflows.wf_1).toMatchObject({
      status: 'failed',
      rolledBack: true,
      compensations: { ok: 1, failed: 0 },
    });
  });

  it('counts the warm pool’s spares in the memory peak', () => {
    const run = new EventRecorder().start();
    run.add('agent.resources', { processes: 1, rssBytes: 200e6, maxRssBytes: 200e6 });
    run.add('agent.resources', {
      processes: 2,
      rssBytes: 300e6,
      maxRssBytes: 200e6,
      spareProcesses: 2,
      spareRssBytes: 400e6,
    });
    run.add('agent.resources', { processes: 3, rssBytes: 600e6, maxRssBytes: 200e6 });
    expect(replayMetrics(run.sessionId, run.events).session).toMatchObject({
      peakRssBytes: 700e6,
      peakSpareRssBytes: 400e6,
      peakProcessRssBytes: 200e6,
    });
  });

  it('marks the agents a fork copied as inherited from its origin, and later ones as its own', () => {
    const run = new EventRecorder('ses_fork').start();
    run.spawn('agt_old').usage('agt_old', 1000, 100);
    run.add('agent.completed', { agentId: 'agt_old' });
    run.add('session.forked', { fromSessionId: 'ses_origin', fromSeq: 7, fromVersion: 2 });
    run.add('session.resumed', { fromSeq: 8 });
    run.spawn('agt_new');
    const metrics = replayMetrics(run.sessionId, run.events);
    expect(metrics.agents.agt_old?.inheritedFrom).toBe('ses_origin');
    expect(metrics.agents.agt_new?.inheritedFrom).toBeUndefined();
    expect(metrics.origins).toEqual([
      { kind: 'fork', fromSessionId: 'ses_origin', fromSeq: 7, fromVersion: 2, seq: 8, at: run.events[7]?.ts },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { ProgressView } from '../../src/cli/progress.ts';
import { applyRunEvent, emptyRunView, nodeRunTimeMs, runTimeMs } from '../../src/cli/run-view.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventRecorder, featureTeamEvents } from '../monitor/kit.ts';

// The progress lines and the summaries are rendered from a projection of the events (the run
// view); its clock counts run time, not the hours a crashed session waited for its resume.

const HOUR = 3_600_000;

/** A two-node workflow: an approval `gate`, then an agent node `work`. */
function gateThenWork(): EventRecorder {
  return new EventRecorder('ses_gap').start('wf_1', {
    name: 'gated',
    nodes: [
      { id: 'gate', kind: 'approval', prompt: 'Go?' },
      { id: 'work', agent: 'coder', task: 'Work.', dependsOn: ['gate'] },
    ],
  });
}

/** The gate approved, `work` running for 2 s, then the process dies and is resumed 4 h later. */
function crashedAndResumed(): { log: EventRecorder; resumedSeq: number } {
  const log = gateThenWork();
  log.wait(100).add('node.started', { workflowId: 'wf_1', nodeId: 'gate', attempt: 1 });
  log.add('input.requested', {
    requestId: 'req_1',
    workflowId: 'wf_1',
    nodeId: 'gate',
    kind: 'approval',
    prompt: 'Go?',
  });
  log.wait(900).add('user.input', { requestId: 'req_1', value: { approved: true } });
  log.add('node.completed', { workflowId: 'wf_1', nodeId: 'gate' });
  log.spawn('agt_1', { nodeId: 'work' }).wait(2000).usage('agt_1', 1000, 100);
  // The crash: nothing for four hours; then the next process sweeps, takes over and resumes.
  log.wait(4 * HOUR).add('system.orphans_swept', { processes: 1, agents: ['agt_1'], pids: [42] });
  log.wait(50).add('session.taken_over', {
    previous: { ownerId: 'o1', host: 'h', pid: 1, acquiredAt: '', expiresAt: '' },
    reason: 'owner_dead',
    owner: { ownerId: 'o2', host: 'h', pid: 2 },
  });
  const resumed = log.add('session.resumed', { fromSeq: log.events.length });
  return { log, resumedSeq: resumed.seq };
}

function carryOn(log: EventRecorder): void {
  log.wait(10).add('node.interrupted', { workflowId: 'wf_1', nodeId: 'work', attempt: 1, reason: 'the process died' });
  log.add('node.started', { workflowId: 'wf_1', nodeId: 'work', attempt: 2, agentId: 'agt_2' });
  log.add('agent.spawned', { agentId: 'agt_2', agentType: 'coder', workflowId: 'wf_1', nodeId: 'work' });
  log.wait(3000).usage('agt_2', 1000, 100);
  log.add('node.completed', { workflowId: 'wf_1', nodeId: 'work' });
  log.add('workflow.completed', { workflowId: 'wf_1', status: 'completed' });
}

function renderAll(view: ProgressView, events: readonly AnyEvent[]): string[] {
  return events.flatMap((event) => view.render(event));
}

describe('the run clock', () => {
  it('runs from the start of the workflow to its latest event', () => {
    const events = featureTeamEvents();
    const view = emptyRunView(events[0]?.sessionId ?? '');
    for (const event of events) applyRunEvent(view, event);
    const started = Date.parse(events.find((e) => e.type === 'workflow.started')?.ts ?? '');
    expect(runTimeMs(view)).toBe(Date.parse(events.at(-1)?.ts ?? '') - started);
    // Up to a given time of the open segment, for a frame drawn between events.
    expect(runTimeMs(view, started + 12_345)).toBe(12_345);
  });

  it('leaves out the gap between a crash and the resume, and what the next process did before resuming', () => {
    const { log } = crashedAndResumed();
    carryOn(log);
    const view = emptyRunView('ses_gap');
    for (const event of log.events) applyRunEvent(view, event);
    // 100 + 900 before the agent, 2000 of work, then 10 + 3000 after the resume.
    expect(runTimeMs(view)).toBe(6010);
    // The second attempt of `work` started 10 ms after the resume and ran 3000 ms.
    expect(nodeRunTimeMs(view, 'work')).toBe(3000);
  });

  it('leaves the gap out of a node that waited across it', () => {
    const log = gateThenWork();
    log.add('node.started', { workflowId: 'wf_1', nodeId: 'gate', attempt: 1 });
    log.add('input.requested', {
      requestId: 'req_1',
      workflowId: 'wf_1',
      nodeId: 'gate',
      kind: 'approval',
      prompt: 'Go?',
    });
    log.wait(2000).add('session.versioned', { version: 1, seq: 3 });
    log.wait(HOUR).add('session.resumed', { fromSeq: 5 });
    log.wait(3000).add('user.input', { requestId: 'req_1', value: { approved: true } });
    const completed = log.add('node.completed', { workflowId: 'wf_1', nodeId: 'gate' });
    const view = new ProgressView();
    const lines = renderAll(view, log.events);
    // Two seconds before the crash (the version stored meanwhile is not the run's work), three after.
    expect(lines).toContain('  ✓ gate      completed 3.0s');
    expect(nodeRunTimeMs(view.view, 'gate', Date.parse(completed.ts))).toBe(3000);
  });
});

describe('ProgressView', () => {
  it('prints the lines of a run as it goes, and closes with its figures and its run time', () => {
    const view = new ProgressView({ simulated: true });
    const lines = renderAll(view, featureTeamEvents());
    expect(lines[0]).toMatch(/^workflow feature-team: 6 nodes {2}\(session ses_\w+\)$/);
    expect(lines).toContain('  ▸ plan       started');
    expect(lines).toContain('    · implement Write src/csv.ts');
    // 02:40:29.028 to 02:40:30.538
    expect(lines.find((line) => line.startsWith('  ✓ plan'))).toMatch(/^ {2}✓ plan {7}completed 1\.5s {2}\$0\.\d{4}$/);
    expect(lines).toContain('  ? ship       approval: Ship a CSV parser? The review said: changes_requested.');
    // 02:40:29.015 to 02:40:36.468
    expect(lines.at(-1)).toMatch(
      /^✔ workflow completed\n {2}6 agents, 12 turns, 7 tool calls, .* tokens .*, \$0\.\d{4} \(simulated: scripted model\), 7\.5s$/,
    );
  });

  it('closes a resumed run with its run time, without the gap', () => {
    const { log } = crashedAndResumed();
    carryOn(log);
    const lines = renderAll(new ProgressView(), log.events);
    // The node's spend counts both attempts ($0.0045 each); its time only the one that completed.
    expect(lines).toContain('  ✓ work      completed 3.0s  $0.0090');
    expect(lines.at(-1)).toMatch(/^✔ workflow completed\n {2}2 agents, 2 turns, .*, 6\.0s$/);
  });

  it('sums up the past of a resumed session: nodes by outcome, what runs again, what was spent', () => {
    const { log, resumedSeq } = crashedAndResumed();
    const view = new ProgressView({ simulated: true });
    const printed = renderAll(
      view,
      log.events.filter((e) => e.seq <= resumedSeq),
    );
    expect(printed.some((line) => line.includes('approval'))).toBe(true);
    expect(view.pastSummary()).toEqual([
      'workflow gated: 2 nodes  (session ses_gap)',
      '  before this resume: 1 of 2 nodes done: 1 completed (gate); to run again: work',
      expect.stringMatching(
        /^ {2}spent before: 1 agents, 1 turns, 0 tool calls, 1\.0k in \/ 100 out tokens \(0 cached\), \$0\.0045 \(simulated: scripted model\), 3\.0s$/,
      ),
    ]);
  });

  it('sums up the past of a session that has ended nodes of every kind', () => {
    const log = new EventRecorder('ses_mixed').start('wf_1', {
      name: 'mixed',
      nodes: [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
    });
    log.add('node.started', { workflowId: 'wf_1', nodeId: 'a', attempt: 1 });
    log.add('node.failed', {
      workflowId: 'wf_1',
      nodeId: 'a',
      attempt: 1,
      error: { code: 'AGENT_FAILED', message: 'no' },
      willRetry: false,
    });
    log.add('node.skipped', { workflowId: 'wf_1', nodeId: 'b', reason: 'condition false' });
    log.add('node.cancelled', { workflowId: 'wf_1', nodeId: 'c', reason: 'cancelled' });
    log.wait(1000).add('session.resumed', { fromSeq: 6 });
    const view = new ProgressView();
    renderAll(view, log.events);
    expect(view.pastSummary()[1]).toBe(
      '  before this resume: 3 of 4 nodes done: 1 failed (a), 1 skipped (b), 1 cancelled (c)',
    );
  });
});

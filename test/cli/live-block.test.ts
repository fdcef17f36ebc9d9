import { describe, expect, it } from 'vitest';
import { clockText, renderLiveBlock } from '../../src/cli/live-block.ts';
import { applyRunEvent, emptyRunView, type RunView } from '../../src/cli/run-view.ts';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventRecorder, featureTeamEvents } from '../monitor/kit.ts';

// The live block is a pure function of the run view and the time: each frame is checked here
// against the events of a real run of the demo (test/fixtures/monitor) and small made-up ones.

const events = featureTeamEvents();

/** The view after the events up to `seq`. */
function viewAt(seq: number, from: readonly AnyEvent[] = events): RunView {
  const view = emptyRunView(from[0]?.sessionId ?? '');
  for (const event of from) if (event.seq <= seq) applyRunEvent(view, event);
  return view;
}

const at = (iso: string) => Date.parse(iso);

describe('renderLiveBlock', () => {
  it('is empty before the workflow starts and once it has ended', () => {
    expect(renderLiveBlock(viewAt(1), { nowMs: at('2026-11-28T02:40:29.014Z'), columns: 100 })).toBe('');
    expect(renderLiveBlock(viewAt(130), { nowMs: at('2026-11-28T02:40:37.000Z'), columns: 100 })).toBe('');
  });

  it('shows the progress of the graph, and each running node with its time, its spend and what it does', () => {
    // Both coders run; the implementer has written src/csv.ts, the tester not yet.
    const view = viewAt(45);
    const frame = renderLiveBlock(view, { nowMs: at('2026-11-28T02:40:35.539Z'), columns: 120, simulated: true });
    const implement = view.metrics.workflows[view.workflowId ?? '']?.nodes.implement?.costUsd ?? -1;
    const spent = view.metrics.session.costUsd;
    expect(implement).toBeGreaterThan(0);
    expect(frame.split('\n')).toEqual([
      // 02:40:29.015 to 02:40:35.539: 6.5 s of run time.
      `── feature-team · 1/6 done · 2 running · 3 waiting · 6s · $${spent.toFixed(4)} simulated`,
      // Started at 02:40:30.539: 5 s.
      `  ▸ implement    5s  $${implement.toFixed(4)}  Write src/csv.ts`,
      '  ▸ tests        5s  $0.0000',
    ]);
  });

  it('shows an open question in place of its node, and counts it', () => {
    const frame = renderLiveBlock(viewAt(127), { nowMs: at('2026-11-28T02:40:37.000Z'), columns: 120 });
    expect(frame.split('\n')).toEqual([
      expect.stringMatching(/^── feature-team · 6\/7 done · 1 running · 0 waiting · 1 question · 7s · \$0\.\d{4}$/),
      '  ? ship     approval: Ship a CSV parser? The review said: changes_requested.',
    ]);
  });

  it('counts nodes queued for an agent process, shows retries to come, and a paused workflow', () => {
    const log = new EventRecorder('ses_q').start('wf_1', {
      name: 'busy',
      nodes: [{ id: 'one' }, { id: 'two' }, { id: 'three' }],
    });
    log.add('node.queued', { workflowId: 'wf_1', nodeId: 'one', attempt: 1 });
    log.add('node.started', { workflowId: 'wf_1', nodeId: 'two', attempt: 1 });
    log.wait(1000).add('node.failed', {
      workflowId: 'wf_1',
      nodeId: 'two',
      attempt: 1,
      error: { code: 'AGENT_FAILED', message: 'overloaded' },
      willRetry: true,
      retryInMs: 5000,
    });
    log.add('workflow.paused', { workflowId: 'wf_1', reason: 'asked to' });
    const view = viewAt(Number.POSITIVE_INFINITY, log.events);
    expect(renderLiveBlock(view, { nowMs: log.now + 2000, columns: 100 }).split('\n')).toEqual([
      '── busy · paused · 0/3 done · 0 running · 1 queued · 1 waiting · 3s · $0.0000',
      '  ↻ two      retry in 3s',
    ]);
  });

  it('fits every line to the terminal width', () => {
    const frame = renderLiveBlock(viewAt(45), { nowMs: at('2026-11-28T02:40:35.539Z'), columns: 40 });
    for (const line of frame.split('\n')) expect(line.length).toBeLessThanOrEqual(39);
    expect(frame.split('\n')[1]).toMatch(/^ {2}▸ implement {4}5s {2}\$0\.\d{4} {2}Write sr…$/);
  });

  it('keeps to its height, saying how many lines it left out', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `node${String(i).padStart(2, '0')}`);
    const log = new EventRecorder('ses_many').start('wf_1', { name: 'wide', nodes: ids.map((id) => ({ id })) });
    for (const id of ids) log.wait(10).add('node.started', { workflowId: 'wf_1', nodeId: id, attempt: 1 });
    const lines = renderLiveBlock(viewAt(Number.POSITIVE_INFINITY, log.events), {
      nowMs: log.now,
      columns: 100,
      maxLines: 6,
    }).split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toContain('0/20 done · 20 running · 0 waiting');
    // The longest-running first.
    expect(lines.slice(1, 5).map((line) => line.slice(4, 10))).toEqual(['node00', 'node01', 'node02', 'node03']);
    expect(lines[5]).toBe('  … and 16 more');
  });
});

describe('clockText', () => {
  it('counts whole seconds, then minutes, then hours', () => {
    expect(clockText(0)).toBe('0s');
    expect(clockText(59_999)).toBe('59s');
    expect(clockText(125_000)).toBe('2m05s');
    expect(clockText(3_720_000)).toBe('1h02m');
    expect(clockText(-5)).toBe('0s');
  });
});

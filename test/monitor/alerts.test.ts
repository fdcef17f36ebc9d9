import { describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import {
  type AlertData,
  AlertEvaluator,
  type AlertSettings,
  applyMetricsEvent,
  emptyMetrics,
  type MetricsState,
  mergeAlertSettings,
  NO_ALERTS,
} from '../../src/monitor/index.ts';
import type { CompiledAlertRule } from '../../src/workflow/index.ts';
import { EventRecorder } from './kit.ts';

// Alert rules raise a system.alert once per breach and clear it once when the breach ends,
// evaluated event by event over the metrics projection (and by ticks for what has no event).

/** Feeds events through metrics and the evaluator like the live monitor; collects decisions. */
function harness(settings: Partial<AlertSettings>) {
  const metrics: MetricsState = emptyMetrics('ses_test');
  const evaluator = new AlertEvaluator({ ...NO_ALERTS, ...settings });
  const decided: AlertData[] = [];
  let fed = 0;
  return {
    metrics,
    evaluator,
    decided,
    /** Evaluates the recorder's events not fed yet; returns the new decisions. */
    feed(r: EventRecorder): AlertData[] {
      const before = decided.length;
      for (const event of r.events.slice(fed)) {
        applyMetricsEvent(metrics, event);
        decided.push(...evaluator.evaluate(metrics, event));
      }
      fed = r.events.length;
      return decided.slice(before);
    },
  };
}

const states = (alerts: AlertData[]) => alerts.map((a) => `${a.rule}:${a.state}${a.scopeId ? `:${a.scopeId}` : ''}`);

const rule = (overrides: Partial<CompiledAlertRule>): CompiledAlertRule => ({
  name: 'custom',
  scope: 'session',
  severity: 'warning',
  message: undefined,
  kind: 'when',
  source: 'true',
  above: undefined,
  ...overrides,
});

describe('max response time', () => {
  it('raises once while responses are too slow and clears when one is fast again', () => {
    const h = harness({ maxResponseTimeMs: 5000 });
    const r = new EventRecorder().start().spawn('agt_1');
    r.usage('agt_1', 10, 1, { durationMs: 6000 }).usage('agt_1', 10, 1, { durationMs: 9000 });
    const raised = h.feed(r);
    expect(raised).toEqual([
      expect.objectContaining({
        rule: 'max_response_time',
        state: 'raised',
        scope: 'agent',
        scopeId: 'agt_1',
        value: 6000,
        threshold: 5000,
        severity: 'warning',
      }),
    ]);
    r.usage('agt_1', 10, 1, { durationMs: 100 });
    expect(states(h.feed(r))).toEqual(['max_response_time:cleared:agt_1']);
    r.usage('agt_1', 10, 1, { durationMs: 200 });
    expect(h.feed(r)).toEqual([]);
  });

  it('notices a response that never comes on a tick, and clears when the agent ends', () => {
    const h = harness({ maxResponseTimeMs: 5000 });
    const r = new EventRecorder().start().spawn('agt_1');
    h.feed(r);
    expect(h.evaluator.tick(r.now + 4000)).toEqual([]);
    const late = h.evaluator.tick(r.now + 7000);
    expect(late).toEqual([expect.objectContaining({ rule: 'max_response_time', state: 'raised', value: 7000 })]);
    expect(h.evaluator.tick(r.now + 9000)).toEqual([]);
    r.wait(10_000).add('agent.failed', {
      agentId: 'agt_1',
      error: { code: 'AGENT_TIMEOUT', message: 'x' },
      willRetry: false,
    });
    expect(states(h.feed(r))).toEqual(['max_response_time:cleared:agt_1']);
  });
});

describe('max error rate', () => {
  const end = (r: EventRecorder, agentId: string, failed: boolean) =>
    failed
      ? r.add('agent.failed', { agentId, error: { code: 'AGENT_API_ERROR', message: '500' }, willRetry: false })
      : r.add('agent.completed', { agentId });

  it('needs enough attempts, raises once above the rate, clears when the window forgets them', () => {
    const h = harness({ maxErrorRate: { rate: 0.5, windowMs: 60_000, minAttempts: 3 } });
    const r = new EventRecorder().start();
    for (const id of ['a', 'b', 'c', 'd', 'e']) r.spawn(id);
    end(r, 'a', true);
    end(r, 'b', true);
    expect(h.feed(r)).toEqual([]); // 2 of 2 failed, but fewer than 3 attempts
    end(r, 'c', false);
    expect(h.feed(r)).toEqual([
      expect.objectContaining({
        rule: 'max_error_rate',
        state: 'raised',
        value: 0.667,
        threshold: 0.5,
        severity: 'critical',
      }),
    ]);
    end(r, 'd', true);
    expect(h.feed(r)).toEqual([]);
    // Interruptions are not failures of the agent.
    r.add('agent.failed', { agentId: 'e', error: { code: 'AGENT_INTERRUPTED', message: 'stop' }, willRetry: false });
    expect(h.feed(r)).toEqual([]);
    expect(states(h.evaluator.tick(r.now + 61_000))).toEqual(['max_error_rate:cleared']);
  });
});

describe('cost thresholds', () => {
  it('raises the session alert once, and the workflow alert until the workflow ends', () => {
    const h = harness({ maxCost: { session: 0.01, workflow: 0.005 } });
    const r = new EventRecorder().start().spawn('agt_1');
    r.usage('agt_1', 1000, 100); // $0.0045 on sonnet
    expect(h.feed(r)).toEqual([]);
    r.usage('agt_1', 1000, 100);
    expect(states(h.feed(r))).toEqual(['max_workflow_cost:raised:wf_1']);
    r.usage('agt_1', 1000, 100).usage('agt_1', 1000, 100);
    expect(states(h.feed(r))).toEqual(['max_session_cost:raised']);
    r.usage('agt_1', 1000, 100);
    expect(h.feed(r)).toEqual([]);
    r.add('workflow.completed', { workflowId: 'wf_1', status: 'completed' });
    expect(states(h.feed(r))).toEqual(['max_workflow_cost:cleared:wf_1']);
  });
});

describe('custom rules', () => {
  it('evaluates CEL over the figures of its scope, raising and clearing per subject', () => {
    const h = harness({
      rules: [
        rule({ name: 'chatty', scope: 'workflow', source: 'workflow.toolCalls >= 2' }),
        rule({
          name: 'pricey',
          scope: 'agent',
          kind: 'value',
          source: 'agent.outputTokens',
          above: 150,
          severity: 'critical',
        }),
      ],
    });
    const r = new EventRecorder().start().spawn('agt_1').spawn('agt_2');
    const tool = (agentId: string) =>
      r.add('agent.tool_use', { agentId, toolUseId: `t${r.events.length}`, tool: 'Read', input: {} });
    tool('agt_1');
    expect(h.feed(r)).toEqual([]);
    tool('agt_2');
    expect(states(h.feed(r))).toEqual(['chatty:raised:wf_1']);
    r.usage('agt_2', 10, 100).usage('agt_2', 10, 100);
    expect(h.feed(r)).toEqual([
      expect.objectContaining({
        rule: 'pricey',
        state: 'raised',
        scopeId: 'agt_2',
        value: 200,
        threshold: 150,
        severity: 'critical',
      }),
    ]);
    r.usage('agt_1', 10, 100);
    expect(h.feed(r)).toEqual([]);
    r.add('agent.completed', { agentId: 'agt_2' });
    expect(states(h.feed(r))).toEqual(['pricey:cleared:agt_2']);
    // A rule reading a figure that is not there yet gives no verdict (no alert, no error).
    const later = harness({ rules: [rule({ scope: 'workflow', source: 'workflow.durationMs > 1' })] });
    expect(later.feed(new EventRecorder().start().spawn('agt_1'))).toEqual([]);
  });
});

describe('settings and restore', () => {
  it('merges global and workflow settings: the lower threshold wins, rules add up', () => {
    const merged = mergeAlertSettings(
      {
        ...NO_ALERTS,
        maxResponseTimeMs: 9000,
        maxCost: { session: 5, workflow: undefined },
        rules: [rule({ name: 'a' })],
      },
      { ...NO_ALERTS, maxResponseTimeMs: 3000, maxCost: { session: 8, workflow: 1 }, rules: [rule({ name: 'b' })] },
    );
    expect(merged.maxResponseTimeMs).toBe(3000);
    expect(merged.maxCost).toEqual({ session: 5, workflow: 1 });
    expect(merged.rules.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('does not raise again an alert the log already holds', () => {
    const r = new EventRecorder().start().spawn('agt_1');
    r.usage('agt_1', 10, 1, { durationMs: 9000 });
    r.add('system.alert', {
      rule: 'max_response_time',
      severity: 'warning',
      message: 'slow',
      scope: 'agent',
      scopeId: 'agt_1',
      state: 'raised',
    });
    const evaluator = new AlertEvaluator({ ...NO_ALERTS, maxResponseTimeMs: 5000 });
    const metrics = emptyMetrics(r.sessionId);
    for (const event of r.events) {
      applyMetricsEvent(metrics, event);
      evaluator.restore(event);
    }
    const next = r.usage('agt_1', 10, 1, { durationMs: 9500 }).events.at(-1) as AnyEvent;
    applyMetricsEvent(metrics, next);
    expect(evaluator.evaluate(metrics, next)).toEqual([]);
  });
});

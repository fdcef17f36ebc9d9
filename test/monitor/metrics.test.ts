import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMetricsEvent, type MetricsState, meanMs, priceUsage, replayMetrics } from '../../src/monitor/index.ts';
import { EventRecorder, featureTeamEvents } from './kit.ts';

// Metrics are a pure projection of the log: tested on a recorded real run and on generated
// sequences, without I/O.

const close = (value: number) => expect.closeTo(value, 9);

describe('metrics of a recorded run of the demo workflow', () => {
  const events = featureTeamEvents();
  const metrics = replayMetrics(events[0]?.sessionId as string, events);
  const completed = events.filter((e) => e.type === 'agent.completed');

  it('counts agents, steps, turns, tool calls, people and memory for the session', () => {
    const s = metrics.session;
    expect(s.agents).toBe(6);
    expect(s.stepsCompleted).toBe(7);
    expect(s.turns).toBe(events.filter((e) => e.type === 'agent.usage').length);
    expect(s.toolCalls).toBe(7);
    expect(s.toolCallsByTool).toEqual({
      Write: 3,
      Read: 1,
      Edit: 1,
      mcp__orchestrator__add_nodes: 1,
      StructuredOutput: 1,
    });
    expect(s.humanInterventions).toBe(1);
    expect(s.errors).toBe(0);
    // The two coders ran in parallel.
    expect(s.peakConcurrency).toBe(2);
    expect(s.activeAgents).toBe(0);
    expect(s.peakProcessRssBytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(s.ttft.count).toBe(s.turns);
    expect(s.agentTime.count).toBe(6);
    expect(s.maxContextTokens).toBeGreaterThan(0);
  });

  it('prices tokens from per-model usage, cache included, agreeing with the SDK figure', () => {
    let tokens = 0;
    let cached = 0;
    let cost = 0;
    let sdk = 0;
    for (const event of completed) {
      if (event.type !== 'agent.completed') continue;
      sdk += event.data.costUsd ?? 0;
      for (const [model, usage] of Object.entries(event.data.modelUsage ?? {})) {
        tokens += usage.inputTokens;
        cached += usage.cacheReadTokens;
        cost += priceUsage(model, usage).costUsd;
      }
    }
    expect(metrics.session.inputTokens).toBe(tokens);
    expect(metrics.session.cacheReadTokens).toBe(cached);
    expect(cached).toBeGreaterThan(0);
    expect(metrics.session.costUsd).toEqual(close(cost));
    expect(metrics.session.sdkCostUsd).toEqual(close(sdk));
    expect(metrics.session.costUsd).toEqual(close(metrics.session.sdkCostUsd));
    expect(metrics.session.unpricedCostUsd).toBe(0);
    expect(Object.keys(metrics.models)).toEqual(['claude-opus-5-5']);
  });

  it('adds up: agents into nodes, nodes into the workflow, agent types into the session', () => {
    const wf = Object.values(metrics.workflows)[0];
    expect(wf).toMatchObject({ name: 'feature-team', status: 'completed', stepsCompleted: 7, agents: 6 });
    expect(wf?.durationMs).toBeGreaterThan(0);
    const agents = Object.values(metrics.agents);
    const sum = (list: { costUsd: number }[]) => list.reduce((total, item) => total + item.costUsd, 0);
    expect(wf?.costUsd).toEqual(close(sum(agents)));
    expect(sum(Object.values(wf?.nodes ?? {}))).toEqual(close(sum(agents)));
    expect(sum(Object.values(metrics.agentTypes))).toEqual(close(metrics.session.costUsd));
    expect(Object.keys(metrics.agentTypes).sort()).toEqual(['coder', 'lead', 'planner', 'reviewer']);
    expect(metrics.agentTypes.coder?.agents).toBe(3);
    const plan = wf?.nodes.plan;
    expect(plan).toMatchObject({ status: 'completed', nodeAttempts: 1, agents: 1, toolCalls: 1 });
    for (const agent of agents) {
      expect(agent.outcome).toBe('completed');
      expect(agent.peakRssBytes).toBeGreaterThan(0);
      expect(agent.contextTokens).toBeGreaterThan(0);
      expect(agent.live).toEqual({ ...agent.live, responses: 0, costUsd: 0 });
    }
  });

  it('gives the same figures from a snapshot plus the later events as from a full replay, at every point', () => {
    for (let k = 0; k <= events.length; k++) {
      const snapshot = JSON.parse(JSON.stringify(replayMetrics('s', events.slice(0, k)))) as MetricsState;
      for (const event of events.slice(k)) applyMetricsEvent(snapshot, event);
      expect(snapshot).toEqual(replayMetrics('s', events));
    }
  });
});

describe('metrics of generated runs', () => {
  it('snapshot + later events == full replay for any sequence and split point', () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('usage'),
        agent: fc.nat(3),
        input: fc.nat(5000),
        output: fc.nat(500),
        ms: fc.nat(9000),
      }),
      fc.record({
        kind: fc.constant('tool'),
        agent: fc.nat(3),
        tool: fc.constantFrom('Read', 'Bash'),
        error: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('end'),
        agent: fc.nat(3),
        code: fc.constantFrom(null, 'AGENT_TIMEOUT', 'AGENT_INTERRUPTED'),
        retry: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('spawn'), agent: fc.nat(3), node: fc.constantFrom('a', 'b') }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.nat(), (steps, cut) => {
        const r = new EventRecorder().start();
        for (const s of steps) {
          const agentId = `agt_${s.agent}`;
          if (s.kind === 'spawn') r.spawn(agentId, { nodeId: s.node });
          else if (s.kind === 'usage') r.wait(s.ms).usage(agentId, s.input, s.output, { durationMs: s.ms });
          else if (s.kind === 'tool') {
            r.add('agent.tool_use', { agentId, toolUseId: `t${r.events.length}`, tool: s.tool, input: {} });
            r.add('agent.tool_result', { agentId, toolUseId: 'x', isError: s.error, content: '' });
          } else if (s.code === null) {
            r.add('agent.completed', { agentId, costUsd: 0.01, usage: { inputTokens: 10, outputTokens: 1 } });
          } else {
            r.add('agent.failed', { agentId, error: { code: s.code, message: 'x' }, willRetry: s.retry });
          }
        }
        const k = cut % (r.events.length + 1);
        const snapshot = JSON.parse(JSON.stringify(replayMetrics('s', r.events.slice(0, k)))) as MetricsState;
        for (const event of r.events.slice(k)) applyMetricsEvent(snapshot, event);
        expect(snapshot).toEqual(replayMetrics('s', r.events));
      }),
      { numRuns: 300 },
    );
  });
});

describe('live and exact spending', () => {
  it('counts responses live, then replaces them by the exact per-model usage when the attempt ends', () => {
    const r = new EventRecorder().start().spawn('agt_1', { nodeId: 'build' });
    r.usage('agt_1', 1000, 100).usage('agt_1', 2000, 50, { cacheReadTokens: 500, subagentId: 'toolu_sub' });
    const live = replayMetrics(r.sessionId, r.events);
    const sonnet = (input: number, output: number, read = 0) => (input * 3 + output * 15 + read * 0.3) / 1e6;
    expect(live.session).toMatchObject({ inputTokens: 3000, outputTokens: 150, cacheReadTokens: 500, turns: 2 });
    expect(live.session.costUsd).toEqual(close(sonnet(3000, 150, 500)));
    // The main conversation's context only (the subagent's request is not the agent's context).
    expect(live.agents.agt_1?.contextTokens).toBe(1000);
    expect(live.session.maxContextTokens).toBe(2500);

    r.add('agent.completed', {
      agentId: 'agt_1',
      costUsd: 0.5,
      usage: { inputTokens: 1000, outputTokens: 100 },
      modelUsage: {
        'claude-sonnet-4-5': { inputTokens: 3100, outputTokens: 160, cacheReadTokens: 500, cacheCreationTokens: 0 },
        'claude-haiku-4-5': { inputTokens: 400, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 },
      },
    });
    const done = replayMetrics(r.sessionId, r.events);
    const exact = sonnet(3100, 160, 500) + (400 * 1 + 10 * 5) / 1e6;
    for (const figures of [done.session, done.agents.agt_1, done.workflows.wf_1, done.workflows.wf_1?.nodes.build]) {
      expect(figures).toMatchObject({ inputTokens: 3500, outputTokens: 170, cacheReadTokens: 500, turns: 2 });
      expect(figures?.costUsd).toEqual(close(exact));
      expect(figures?.sdkCostUsd).toBe(0.5);
    }
    expect(done.models['claude-haiku-4-5']).toMatchObject({ inputTokens: 400, outputTokens: 10 });
  });

  it('falls back to the SDK totals for events without per-model usage', () => {
    const r = new EventRecorder().start().spawn('agt_1');
    r.add('agent.completed', {
      agentId: 'agt_1',
      costUsd: 0.25,
      turns: 3,
      usage: { inputTokens: 70, outputTokens: 7 },
    });
    const m = replayMetrics(r.sessionId, r.events);
    expect(m.session).toMatchObject({ inputTokens: 70, outputTokens: 7, costUsd: 0.25, sdkCostUsd: 0.25, turns: 3 });
  });

  it('sorts failures into errors by kind, interruptions and retries; times agents and nodes', () => {
    const r = new EventRecorder().start().spawn('agt_1', { nodeId: 'n' });
    r.add('agent.retry', { agentId: 'agt_1', by: 'sdk', attempt: 1, delayMs: 500, reason: '529' });
    r.wait(2000).add('agent.failed', {
      agentId: 'agt_1',
      error: { code: 'AGENT_OVERLOADED', message: '529' },
      willRetry: true,
    });
    r.add('agent.retry', {
      agentId: 'agt_1',
      by: 'orchestrator',
      attempt: 2,
      delayMs: 1000,
      reason: 'AGENT_OVERLOADED',
    });
    r.wait(3000).add('agent.failed', {
      agentId: 'agt_1',
      error: { code: 'AGENT_TIMEOUT', message: 'slow' },
      willRetry: false,
    });
    r.add('node.failed', {
      workflowId: 'wf_1',
      nodeId: 'n',
      attempt: 1,
      error: { code: 'AGENT_TIMEOUT', message: 'slow' },
      willRetry: true,
      retryInMs: 10,
    });
    r.add('node.interrupted', { workflowId: 'wf_1', nodeId: 'n', attempt: 2, reason: 'paused' });
    r.spawn('agt_2', { nodeId: 'n' });
    r.wait(1000).add('agent.failed', {
      agentId: 'agt_2',
      error: { code: 'AGENT_INTERRUPTED', message: 'stop' },
      willRetry: false,
    });
    r.add('workflow.completed', { workflowId: 'wf_1', status: 'failed' });
    const m = replayMetrics(r.sessionId, r.events);
    expect(m.session).toMatchObject({
      errors: 2,
      errorsByKind: { AGENT_OVERLOADED: 1, AGENT_TIMEOUT: 1 },
      interruptions: 1,
      retries: 2,
      agents: 2,
    });
    expect(m.agents.agt_1).toMatchObject({ outcome: 'failed', attempts: 2, endedAt: expect.any(String) });
    expect(m.agents.agt_2?.outcome).toBe('interrupted');
    expect(m.session.agentTime).toEqual({ count: 2, totalMs: 5000 + 1000, maxMs: 5000 });
    expect(meanMs(m.session.agentTime)).toBe(3000);
    expect(m.workflows.wf_1?.nodes.n).toMatchObject({ nodeRetries: 1, nodeInterruptions: 1, nodeAttempts: 1 });
    expect(m.workflows.wf_1).toMatchObject({ status: 'failed', durationMs: 6000 });
  });

  it('tracks raised alerts and exhausted budgets from their events, once each', () => {
    const r = new EventRecorder().start();
    const alert = { rule: 'max_session_cost', severity: 'warning', message: 'm', value: 2, threshold: 1 } as const;
    r.add('system.alert', { ...alert, state: 'raised' });
    r.add('system.alert', { ...alert, state: 'raised' });
    r.add('system.alert', { ...alert, rule: 'chatty', scope: 'agent', scopeId: 'agt_1', state: 'raised' });
    r.add('system.alert', { ...alert, rule: 'chatty', scope: 'agent', scopeId: 'agt_1', state: 'cleared' });
    const budget = { scope: 'session', key: 'ses_test', limitUsd: 1, spentUsd: 1.2, action: 'fail' } as const;
    r.add('budget.exhausted', budget);
    r.add('budget.exhausted', budget);
    const m = replayMetrics(r.sessionId, r.events);
    expect(Object.keys(m.activeAlerts)).toEqual(['max_session_cost|']);
    expect(m.alertsRaised).toBe(2);
    expect(m.budgets).toHaveLength(1);
  });
});

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PrometheusExporter, priceUsage } from '../../src/monitor/index.ts';
import { EventRecorder, featureTeamEvents } from './kit.ts';

// The Prometheus registry fed from the events of a recorded real run: the text must parse
// under the exposition format, and its figures must be those of the run.

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The value of a metric in an exposition, summed over the samples that carry `labels`. */
async function valueIn(exporter: PrometheusExporter, name: string, labels: Record<string, string> = {}) {
  const { samples } = parseExposition(await exporter.text());
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A strict parser of the text exposition format (0.0.4): HELP, TYPE, then samples. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleLine = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') helps.add(meta[2] as string);
      else {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2] as string, meta[3] as string);
      }
      continue;
    }
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name, rawLabels = '', rawValue] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    label.lastIndex = 0;
    while (label.lastIndex < rawLabels.length) {
      const at = label.lastIndex;
      const m = label.exec(rawLabels);
      if (!m || m.index !== at) throw new Error(`bad labels in: ${line}`);
      labels[m[1] as string] = m[2] as string;
    }
    const value = rawValue === '+Inf' ? Number.POSITIVE_INFINITY : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`bad value in: ${line}`);
    const family = name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(name) ?? types.get(family);
    if (!type) throw new Error(`sample of an undeclared metric: ${line}`);
    expect(helps.has(types.has(name) ? name : family)).toBe(true);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

describe('PrometheusExporter', () => {
  const events = featureTeamEvents();
  const exporter = new PrometheusExporter();
  for (const event of events) exporter.observe(event);

  it('exposes text that parses, with figures of the run', async () => {
    const { types, samples } = parseExposition(await exporter.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    expect(types.get('orchestrator_tokens_total')).toBe('counter');
    expect(types.get('orchestrator_model_response_seconds')).toBe('histogram');
    expect(value('orchestrator_events_total')).toBe(events.length);
    expect(value('orchestrator_agents_spawned_total')).toBe(6);
    expect(value('orchestrator_agents_spawned_total', { agent_type: 'coder' })).toBe(3);
    expect(value('orchestrator_agent_attempts_total', { outcome: 'completed' })).toBe(6);
    expect(value('orchestrator_tool_calls_total', { tool: 'Write' })).toBe(3);
    expect(value('orchestrator_workflows_total', { status: 'completed' })).toBe(1);
    expect(value('orchestrator_nodes_total', { status: 'completed' })).toBe(7);
    expect(value('orchestrator_human_inputs_total')).toBe(1);
    expect(value('orchestrator_agents_active')).toBe(0);
    expect(value('orchestrator_workflows_running')).toBe(0);
    const responses = events.filter((e) => e.type === 'agent.usage').length;
    expect(value('orchestrator_model_responses_total', { model: 'claude-opus-5-5' })).toBe(responses);
    expect(value('orchestrator_model_response_seconds_count')).toBe(responses);
    let input = 0;
    let sdk = 0;
    for (const event of events) {
      if (event.type !== 'agent.completed') continue;
      sdk += event.data.costUsd ?? 0;
      for (const usage of Object.values(event.data.modelUsage ?? {})) input += usage.inputTokens;
    }
    expect(value('orchestrator_tokens_total', { kind: 'input' })).toBe(input);
    expect(value('orchestrator_cost_usd_total')).toBeCloseTo(sdk, 9);
    expect(value('orchestrator_sdk_cost_usd_total')).toBeCloseTo(sdk, 9);
  });

  it('counts what it saw before its metrics were first read as if they had been read all along', async () => {
    // prom-client is loaded and the metrics made at the first read: updates wait in a queue
    // until then. Half the run seen before that read, half after, must expose what one exporter
    // read only at the end exposes, sample for sample.
    const split = new PrometheusExporter();
    const half = Math.floor(events.length / 2);
    for (const event of events.slice(0, half)) split.observe(event);
    const early = parseExposition(await split.text()).samples;
    expect(early.find((s) => s.name === 'orchestrator_events_total')).toBeDefined();
    for (const event of events.slice(half)) split.observe(event);
    const byKey = (samples: readonly Sample[]) =>
      Object.fromEntries(samples.map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]));
    expect(byKey(parseExposition(await split.text()).samples)).toEqual(
      byKey(parseExposition(await exporter.text()).samples),
    );
  });

  it('keeps its own registry, apart from the global one and from other exporters', async () => {
    const other = new PrometheusExporter();
    expect(other.registry).not.toBe(exporter.registry);
    expect(other.registry).toBeInstanceOf(Registry);
    const { samples } = parseExposition(await other.text());
    expect(samples.filter((s) => s.name === 'orchestrator_agents_spawned_total' && s.value > 0)).toEqual([]);
    expect(exporter.contentType).toMatch(/^text\/plain/);
  });

  it('counts tokens and cost off the wire behind the gateway, Claude Code`s estimate beside, nothing twice', async () => {
    const run = new EventRecorder();
    run.start();
    run.add('agent.spawned', { agentId: 'agt_gw', agentType: 'coder', workflowId: 'wf_1', nodeId: 'a' });
    run.add('agent.spawned', { agentId: 'agt_direct', agentType: 'coder', workflowId: 'wf_1', nodeId: 'b' });
    const wire = (requestId: string, inputTokens: number, costUsd: number, ok = true) =>
      run.add('model.request', {
        requestId,
        agentId: 'agt_gw',
        model: 'claude-sonnet-4-5',
        status: ok ? 200 : 529,
        ok,
        inputTokens,
        outputTokens: 10,
        cacheReadTokens: 5,
        cacheCreationTokens: 0,
        costUsd,
        durationMs: 20,
        attempt: 1,
        ...(!ok && { error: { code: 'AGENT_OVERLOADED', message: 'overloaded', retryable: true } }),
      });
    run.add('model.retry', {
      requestId: 'r1',
      agentId: 'agt_gw',
      attempt: 2,
      maxRetries: 4,
      delayMs: 10,
      status: 529,
      fault: 'status',
      reason: 'AGENT_OVERLOADED',
    });
    wire('r1', 100, 0.01);
    wire('r2', 200, 0.02);
    wire('r3', 0, 0, false);
    // Claude Code reports other figures for the same work (its own price table, its own count).
    const claudeCode = {
      'claude-sonnet-4-5': {
        inputTokens: 999,
        outputTokens: 99,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
        costUsd: 0.5,
      },
    };
    run.add('agent.completed', { agentId: 'agt_gw', costUsd: 0.5, modelUsage: claudeCode });
    run.add('agent.completed', { agentId: 'agt_direct', costUsd: 0.25, modelUsage: claudeCode });
    const exporter = new PrometheusExporter();
    for (const event of run.events) exporter.observe(event);

    // The gateway's agent: 300 input tokens off the wire; the other: Claude Code's 999.
    expect(await valueIn(exporter, 'orchestrator_tokens_total', { kind: 'input' })).toBe(300 + 999);
    expect(await valueIn(exporter, 'orchestrator_tokens_total', { kind: 'cache_read' })).toBe(15);
    // The gateway's agent: its requests' costs; the other: its usage priced with the monitor's table.
    const priced = priceUsage('claude-sonnet-4-5', claudeCode['claude-sonnet-4-5']).costUsd;
    expect(await valueIn(exporter, 'orchestrator_cost_usd_total')).toBeCloseTo(0.03 + priced, 9);
    expect(await valueIn(exporter, 'orchestrator_sdk_cost_usd_total')).toBeCloseTo(0.75, 9);
    expect(await valueIn(exporter, 'orchestrator_gateway_requests_total', { outcome: 'ok' })).toBe(2);
    expect(await valueIn(exporter, 'orchestrator_gateway_requests_total', { outcome: 'AGENT_OVERLOADED' })).toBe(1);
    expect(await valueIn(exporter, 'orchestrator_retries_total', { by: 'gateway' })).toBe(1);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createTracing } from '../../src/monitor/index.ts';
import { EventRecorder, featureTeamEvents } from './kit.ts';

// Traces built from a recorded event sequence: sessions, workflows, nodes, agents, model
// responses and tool calls nested in that order, with GenAI semantic-convention attributes.

async function spansOf(events: ReturnType<typeof featureTeamEvents>): Promise<ReadableSpan[]> {
  const tracing = createTracing({ exporter: 'memory' });
  for (const event of events) tracing.builder.observe(event);
  const open = tracing.builder.openSpans;
  const spans = tracing.memory?.getFinishedSpans() ?? [];
  expect(open).toBe(0);
  await tracing.shutdown();
  return [...spans];
}

describe('traces from the events of a real run', () => {
  it('nests session > workflow > node > invoke_agent > chat and execute_tool', async () => {
    const events = featureTeamEvents();
    const spans = await spansOf(events);
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: ReadableSpan) => byId.get(span.parentSpanContext?.spanId ?? '');
    const named = (prefix: string) => spans.filter((span) => span.name.startsWith(prefix));

    const [session] = named('session ');
    expect(session?.parentSpanContext).toBeUndefined();
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    const [workflow] = named('workflow ');
    expect(workflow?.name).toBe('workflow feature-team');
    expect(parentOf(workflow as ReadableSpan)).toBe(session);
    expect(
      named('node ')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['plan', 'implement', 'tests', 'review', 'triage', 'fixup', 'ship'].map((id) => `node ${id}`).sort());
    for (const node of named('node ')) expect(parentOf(node)).toBe(workflow);

    const agents = named('invoke_agent ');
    expect(agents).toHaveLength(6);
    for (const agent of agents) {
      expect(parentOf(agent)?.name).toMatch(/^node /);
      expect(agent.attributes).toMatchObject({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-opus-5-5',
        'gen_ai.response.model': 'claude-opus-5-5',
        'gen_ai.agent.name': agent.name.slice('invoke_agent '.length),
        'gen_ai.agent.id': expect.stringMatching(/^agt_/),
        'gen_ai.conversation.id': expect.any(String),
      });
      expect(agent.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(agent.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    }
    const planner = agents.find((agent) => agent.name === 'invoke_agent planner');
    expect(parentOf(planner as ReadableSpan)?.name).toBe('node plan');

    const chats = named('chat ');
    expect(chats).toHaveLength(events.filter((e) => e.type === 'agent.usage').length);
    for (const chat of chats) {
      expect(parentOf(chat)?.name).toMatch(/^invoke_agent /);
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'claude-opus-5-5',
        'gen_ai.response.id': expect.stringMatching(/^msg_/),
        'gen_ai.usage.input_tokens': expect.any(Number),
        'gen_ai.usage.output_tokens': expect.any(Number),
      });
    }
    const tools = named('execute_tool ');
    expect(tools.map((t) => t.attributes['gen_ai.tool.name']).sort()).toEqual(
      ['Edit', 'Read', 'StructuredOutput', 'Write', 'Write', 'Write', 'mcp__orchestrator__add_nodes'].sort(),
    );
    for (const tool of tools) {
      expect(parentOf(tool)?.name).toMatch(/^invoke_agent /);
      expect(tool.attributes['gen_ai.tool.call.id']).toMatch(/^toolu_/);
    }
    // Span times are the events' times.
    const [seconds, nanos] = session?.startTime ?? [0, 0];
    expect(new Date(seconds * 1000 + nanos / 1e6).toISOString()).toBe(events[0]?.ts);
  });

  it('marks failures, and records alerts and budgets as events of the session span', async () => {
    const r = new EventRecorder().start().spawn('agt_1', { nodeId: 'build' });
    r.add('agent.tool_use', { agentId: 'agt_1', toolUseId: 'toolu_1', tool: 'Bash', input: {} });
    r.wait(10).add('agent.tool_result', { agentId: 'agt_1', toolUseId: 'toolu_1', isError: true, content: 'exit 1' });
    r.add('system.alert', {
      rule: 'max_session_cost',
      severity: 'warning',
      message: 'pricey',
      state: 'raised',
      value: 2,
    });
    r.add('agent.failed', {
      agentId: 'agt_1',
      error: { code: 'BUDGET_EXHAUSTED', message: 'spent' },
      willRetry: false,
    });
    r.add('node.failed', {
      workflowId: 'wf_1',
      nodeId: 'build',
      attempt: 1,
      error: { code: 'BUDGET_EXHAUSTED', message: 'spent' },
      willRetry: false,
    });
    r.add('workflow.completed', {
      workflowId: 'wf_1',
      status: 'failed',
      error: { code: 'BUDGET_EXHAUSTED', message: 'spent' },
    });
    const spans = await spansOf(r.events);
    const get = (name: string) => spans.find((span) => span.name === name) as ReadableSpan;
    expect(get('execute_tool Bash').attributes['error.type']).toBe('tool_error');
    expect(get('invoke_agent coder').status.code).toBe(2);
    expect(get('invoke_agent coder').attributes['error.type']).toBe('BUDGET_EXHAUSTED');
    expect(get('node build').attributes['error.type']).toBe('BUDGET_EXHAUSTED');
    expect(get('workflow flow').status.code).toBe(2);
    expect(get('session flow').events.map((e) => [e.name, e.attributes?.rule])).toEqual([
      ['system.alert', 'max_session_cost'],
    ]);
  });

  it('writes finished spans as JSON lines to a file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'orch-traces-'));
    try {
      const file = path.join(dir, 'traces.jsonl');
      const tracing = createTracing({ exporter: 'file', file });
      for (const event of featureTeamEvents()) tracing.builder.observe(event);
      await tracing.shutdown();
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.length).toBeGreaterThan(20);
      expect(lines.find((line) => line.name.startsWith('invoke_agent'))).toMatchObject({
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        parentSpanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        attributes: { 'gen_ai.operation.name': 'invoke_agent' },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

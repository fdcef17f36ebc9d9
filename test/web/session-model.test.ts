import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../web/src/model/event.ts';
import { edgesOf, quickLayout } from '../../web/src/model/graph.ts';
import { SessionModel } from '../../web/src/model/session.ts';

// The dashboard's session model over a real log: the README's demo as `orchestrator run --json`
// printed it (fixtures/feature-team.events.jsonl), and small logs written here.

const DEMO: LogEvent[] = readFileSync(new URL('./fixtures/feature-team.events.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as LogEvent);

function event(seq: number, type: string, data: Record<string, unknown>, ts = 1_000 * seq): LogEvent {
  return { id: `e${seq}`, sessionId: 's', seq, type, ts: new Date(ts).toISOString(), source: 'test', data };
}

describe('SessionModel over the demo log', () => {
  const model = new SessionModel(DEMO[0]?.sessionId ?? '');
  model.apply(DEMO);

  it('builds the graph of the definition plus the node added at run time, by whom', () => {
    expect([...model.nodes.keys()]).toEqual(['plan', 'implement', 'tests', 'review', 'triage', 'ship', 'fixup']);
    const fixup = model.nodes.get('fixup');
    expect(fixup?.added?.by).toMatch(/^agent:agt_/);
    expect(fixup?.added?.agentType).toBe('lead');
    // requiredBy: ship now waits for the fix-up node.
    expect(model.nodes.get('ship')?.dependsOn).toEqual(['triage', 'fixup']);
    expect(edgesOf(model.nodes).map((e) => e.id)).toContain('fixup->ship');
    expect(model.nodes.get('plan')?.added).toBeUndefined();
  });

  it('ends with every node completed and the workflow completed', () => {
    expect([...model.nodes.values()].map((n) => n.status)).toEqual(Array(7).fill('completed'));
    expect(model.status()).toBe('completed');
    expect(model.workflow?.name).toBe('feature-team');
  });

  it('keeps each agent transcript: text, tool calls with results and decisions, structured output', () => {
    expect(model.agents.size).toBe(6);
    const reviewer = [...model.agents.values()].find((a) => a.agentType === 'reviewer');
    expect(reviewer?.nodeId).toBe('review');
    // The spawn names neither: the attempt comes from its node, the model from its requests.
    expect(reviewer?.attempt).toBe(1);
    expect(reviewer?.model).toBe('claude-opus-5-5');
    const kinds = reviewer?.entries.map((e) => e.kind);
    expect(kinds).toContain('tool');
    expect(kinds?.at(-1)).toBe('output');
    const tool = reviewer?.entries.find((e) => e.kind === 'tool');
    expect(tool?.kind === 'tool' && tool.result !== undefined).toBe(true);
    expect(tool?.kind === 'tool' && tool.decisions.length).toBeGreaterThan(0);
    const output = reviewer?.entries.at(-1);
    expect(output?.kind === 'output' && output.output).toMatchObject({ verdict: 'changes_requested' });
  });

  it('counts spend from the gateway requests and keeps a series over time', () => {
    const requests = DEMO.filter((e) => e.type === 'model.request');
    const cost = requests.reduce((sum, e) => sum + ((e.data as { costUsd: number }).costUsd ?? 0), 0);
    expect(model.totalCostUsd).toBeCloseTo(cost, 9);
    expect(model.series.length).toBeGreaterThan(1);
    expect(model.series.at(-1)?.costUsd).toBeCloseTo(cost, 9);
    expect([...model.agents.values()].every((a) => a.metered)).toBe(true);
    expect(model.toolCalls.get('Write')).toBeGreaterThan(0);
  });

  it('records the approval asked and answered, on the timeline too', () => {
    const [question] = [...model.questions.values()];
    expect(question?.kind).toBe('approval');
    expect(question?.nodeId).toBe('ship');
    expect(question?.answer?.value).toMatchObject({ approved: true });
    expect(model.openQuestions()).toEqual([]);
    const spans = model.timeline.get('ship') ?? [];
    expect(spans.map((s) => s.kind)).toEqual(['attempt', 'question']);
    expect(spans.find((s) => s.kind === 'question')?.outcome).toBe('answered');
    expect(spans.every((s) => s.to !== undefined)).toBe(true);
  });

  it('keeps an audit trail of decisions, the graph change and the answer', () => {
    const types = new Set(model.audit.map((a) => a.type));
    expect(types).toEqual(new Set(['security.decision', 'workflow.modified', 'user.input']));
    expect(model.audit.find((a) => a.type === 'workflow.modified')?.what).toBe('add node fixup');
  });

  it('ignores events it has seen (a stream that replays after a reconnect)', () => {
    const again = new SessionModel('x');
    again.apply(DEMO.slice(0, 80));
    again.apply(DEMO.slice(40));
    expect(again.totalCostUsd).toBeCloseTo(model.totalCostUsd, 9);
    expect(again.audit.length).toBe(model.audit.length);
  });
});

describe('SessionModel, event by event', () => {
  const start = (m: SessionModel) =>
    m.apply([
      event(1, 'session.created', { name: 'w' }),
      event(2, 'workflow.started', {
        workflowId: 'wf',
        name: 'w',
        definition: {
          nodes: [
            { id: 'a', agent: 'x' },
            { id: 'b', dependsOn: ['a'], kind: 'human', prompt: 'why?' },
          ],
        },
      }),
    ]);

  it('follows retries, waits and interruptions on the timeline', () => {
    const m = new SessionModel('s');
    start(m);
    m.apply([
      event(3, 'node.queued', { workflowId: 'wf', nodeId: 'a', attempt: 1 }),
      event(4, 'node.started', { workflowId: 'wf', nodeId: 'a', attempt: 1, agentId: 'g1' }),
      event(5, 'node.failed', {
        workflowId: 'wf',
        nodeId: 'a',
        attempt: 1,
        willRetry: true,
        error: { code: 'AGENT_NETWORK', message: 'x' },
      }),
    ]);
    expect(m.nodes.get('a')?.status).toBe('retry_wait');
    m.apply([
      event(6, 'node.started', { workflowId: 'wf', nodeId: 'a', attempt: 2 }),
      event(7, 'node.interrupted', { workflowId: 'wf', nodeId: 'a', attempt: 2, reason: 'paused' }),
      event(8, 'workflow.paused', { workflowId: 'wf' }),
    ]);
    expect(m.status()).toBe('paused');
    expect(m.timeline.get('a')?.map((s) => `${s.kind}:${s.attempt}:${s.outcome ?? ''}`)).toEqual([
      'queued:1:',
      'attempt:1:failed',
      'retry_wait:1:',
      'attempt:2:interrupted',
    ]);
    m.apply([event(9, 'workflow.resumed', { workflowId: 'wf' })]);
    expect(m.status()).toBe('running');
  });

  it('shows a question as awaiting input until answered, and a skip with its reason', () => {
    const m = new SessionModel('s');
    start(m);
    m.apply([
      event(3, 'node.started', { workflowId: 'wf', nodeId: 'b', attempt: 1 }),
      event(4, 'input.requested', { requestId: 'r1', workflowId: 'wf', nodeId: 'b', kind: 'input', prompt: 'why?' }),
    ]);
    expect(m.nodes.get('b')?.status).toBe('awaiting_input');
    expect(m.status()).toBe('awaiting_input');
    expect(m.openQuestions().map((q) => q.requestId)).toEqual(['r1']);
    m.apply([event(5, 'user.input', { requestId: 'r1', value: 'because', by: 'api:k1:ops' })]);
    expect(m.nodes.get('b')?.status).toBe('running');
    expect(m.openQuestions()).toEqual([]);
    expect(m.audit.at(-1)).toMatchObject({ by: 'api:k1:ops', outcome: '"because"' });
    m.apply([event(6, 'node.skipped', { workflowId: 'wf', nodeId: 'a', reason: 'condition false' })]);
    expect(m.nodes.get('a')).toMatchObject({ status: 'skipped', reason: 'condition false' });
  });

  it('audits who forked, imported and took a version of the session', () => {
    const m = new SessionModel('s');
    start(m);
    m.apply([
      event(3, 'session.forked', { fromSessionId: 'ses_old', fromSeq: 2, fromVersion: 4, by: 'api:k2:ci' }),
      event(4, 'session.versioned', { version: 1, seq: 3, label: null }),
      event(5, 'session.versioned', { version: 2, seq: 4, label: 'x', by: 'api:k2:ci' }),
      event(6, 'session.imported', {
        fromSessionId: 'ses_far',
        fromStore: 'sqlite',
        exportedAt: 't',
        formatVersion: 2,
      }),
    ]);
    const audited = m.audit.filter((a) => a.type.startsWith('session.'));
    expect(audited.map((a) => [a.type, a.by, a.what])).toEqual([
      ['session.forked', 'api:k2:ci', 'fork from ses_old version 4'],
      // An automatic version names nobody and is not audited; one taken on request is.
      ['session.versioned', 'api:k2:ci', 'take version 2'],
      ['session.imported', 'user', 'import from ses_far'],
    ]);
    expect(m.versions.map((v) => v.version)).toEqual([1, 2]);
  });

  it('bumps a node revision only for the node that changed', () => {
    const m = new SessionModel('s');
    start(m);
    const before = m.nodes.get('b')?.rev;
    m.apply([event(3, 'node.started', { workflowId: 'wf', nodeId: 'a', attempt: 1 })]);
    expect(m.nodes.get('b')?.rev).toBe(before);
    expect(m.nodes.get('a')?.rev).toBeGreaterThan(0);
  });

  it('lays out layers by longest path, O(V+E)', () => {
    const m = new SessionModel('s');
    start(m);
    const positions = quickLayout(m.nodes, { width: 100, height: 40, gapX: 20, gapY: 10 });
    expect(positions.get('a')).toEqual({ x: 0, y: 0 });
    expect(positions.get('b')).toEqual({ x: 120, y: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { nodeActivityAt, recoveryProblems, sequenceProblems, workflowNodes } from './log-checks.ts';

// The crash tests trust these checks to find what a broken recovery would leave in the log;
// here each check is shown a sound log (no problems) and logs broken in one way (that problem).

type Step = [type: string, data?: Record<string, unknown>];

function log(steps: readonly Step[]): AnyEvent[] {
  return steps.map(
    ([type, data = {}], index) =>
      ({
        id: `evt-${index + 1}`,
        seq: index + 1,
        type,
        sessionId: 'ses',
        ts: new Date(0).toISOString(),
        source: 'test',
        data,
      }) as unknown as AnyEvent,
  );
}

const definition = { nodes: [{ id: 'a' }, { id: 'b' }, { id: 'ok', kind: 'approval' }] };

/** a completes, b is running when the process dies at seq 6, then the resume finishes. */
const crashed: Step[] = [
  ['session.created'],
  ['workflow.started', { definition }],
  ['node.started', { nodeId: 'a' }],
  ['node.completed', { nodeId: 'a' }],
  ['node.started', { nodeId: 'b' }],
  ['agent.spawned', { nodeId: 'b' }],
  // ---- killed here (seq 6) ----
  ['session.resumed', { fromSeq: 6 }],
  ['node.interrupted', { nodeId: 'b' }],
  ['node.started', { nodeId: 'b' }],
  ['workflow.modified', { changes: [{ op: 'add_nodes', nodes: [{ id: 'fix' }] }] }],
  ['node.completed', { nodeId: 'b' }],
  ['node.started', { nodeId: 'fix' }],
  ['node.completed', { nodeId: 'fix' }],
  ['node.started', { nodeId: 'ok' }],
  ['input.requested', { nodeId: 'ok', requestId: 'r1' }],
  ['user.input', { requestId: 'r1', value: { approved: true } }],
  ['node.completed', { nodeId: 'ok' }],
  ['workflow.completed', { status: 'completed' }],
];
const KILL = 6;

function without(steps: readonly Step[], type: string, nodeId?: string): Step[] {
  return steps.filter(([t, d]) => !(t === type && (nodeId === undefined || d?.nodeId === nodeId)));
}

describe('log checks of the CLI tests', () => {
  it('find nothing wrong in a sound recovery', () => {
    expect(recoveryProblems(log(crashed), KILL)).toEqual([]);
  });

  it('list the nodes of the definition and those added at run time, with their kinds', () => {
    expect([...workflowNodes(log(crashed))]).toEqual([
      ['a', 'agent'],
      ['b', 'agent'],
      ['ok', 'approval'],
      ['fix', 'agent'],
    ]);
  });

  it('catch a gap and a duplicate id in the sequence', () => {
    const events = log(crashed);
    const gap = events.filter((e) => e.seq !== 3);
    expect(sequenceProblems(gap)).toContain('event #3 (node.completed) has seq 4');
    const twice = events.map((e) => (e.seq === 5 ? { ...e, id: 'evt-4' } : e));
    expect(sequenceProblems(twice)).toEqual(['event id evt-4 (seq 5) appears twice']);
  });

  it('catch a node completed twice and one never completed', () => {
    const rerun: Step[] = [
      ...crashed.slice(0, 7),
      ['node.started', { nodeId: 'a' }],
      ['node.completed', { nodeId: 'a' }],
      ...crashed.slice(7),
    ];
    const problems = recoveryProblems(log(rerun), KILL);
    expect(problems).toContain('node a has 2 node.completed events');
    expect(problems).toContain('node a completed before the kill and started again after it');
    expect(recoveryProblems(log(without(crashed, 'node.completed', 'fix')), KILL)).toEqual([
      'node fix has 0 node.completed events',
    ]);
  });

  it('catch a running node whose interruption was not recorded', () => {
    expect(recoveryProblems(log(without(crashed, 'node.interrupted')), KILL)).toEqual([
      'node b was running at the kill and has no node.interrupted after it',
    ]);
  });

  it('catch a missing resume record, a failed end and a kill after the end', () => {
    expect(recoveryProblems(log(without(crashed, 'session.resumed')), KILL)).toEqual([
      'no session.resumed after the kill',
    ]);
    const failed = crashed.map(([t, d]): Step => (t === 'workflow.completed' ? [t, { status: 'failed' }] : [t, d]));
    expect(recoveryProblems(log(failed), KILL)).toEqual(['the workflow ended failed']);
    expect(recoveryProblems(log(crashed), crashed.length)).toContain(
      `the workflow had completed by seq ${crashed.length}, before the kill`,
    );
  });

  it('see a question to a human as waiting, and catch it being asked again', () => {
    const killWhileAsking = 15;
    expect(nodeActivityAt(log(crashed), killWhileAsking).get('ok')).toBe('waiting');
    expect(nodeActivityAt(log(crashed), killWhileAsking + 1).get('ok')).toBe('running');
    expect(nodeActivityAt(log(crashed), KILL)).toEqual(
      new Map([
        ['a', 'completed'],
        ['b', 'running'],
      ]),
    );
    const askedTwice: Step[] = [
      ...crashed.slice(0, killWhileAsking),
      ['session.resumed', { fromSeq: killWhileAsking }],
      ['input.requested', { nodeId: 'ok', requestId: 'r2' }],
      ...crashed.slice(killWhileAsking),
    ];
    expect(recoveryProblems(log(askedTwice), killWhileAsking)).toEqual([
      'node ok was asked its question again after the kill',
    ]);
  });

  it('see an agent whose result was durable as answered, and catch it being paid again', () => {
    const answered: Step[] = [
      ['session.created'],
      ['workflow.started', { definition: { nodes: [{ id: 'a' }] } }],
      ['node.started', { nodeId: 'a' }],
      ['agent.spawned', { nodeId: 'a', agentId: 'agt-1' }],
      ['agent.completed', { agentId: 'agt-1', output: 'A' }],
      // ---- killed here (seq 5) ----
      ['session.resumed', { fromSeq: 5 }],
      ['node.completed', { nodeId: 'a' }],
      ['workflow.completed', { status: 'completed' }],
    ];
    expect(nodeActivityAt(log(answered), 5).get('a')).toBe('answered');
    expect(recoveryProblems(log(answered), 5)).toEqual([]);
    const paidTwice: Step[] = [
      ...answered.slice(0, 6),
      ['node.interrupted', { nodeId: 'a' }],
      ['node.started', { nodeId: 'a' }],
      ['agent.spawned', { nodeId: 'a', agentId: 'agt-2' }],
      ...answered.slice(6),
    ];
    expect(recoveryProblems(log(paidTwice), 5)).toEqual([
      "node a's agent result was durable at the kill, yet an agent was paid again after it",
      "node a's agent result was durable at the kill, yet it was recorded interrupted",
    ]);
  });
});

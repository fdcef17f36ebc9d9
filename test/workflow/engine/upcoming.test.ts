import { describe, expect, it } from 'vitest';
import { memoryRoom, sparesToStart } from '../../../src/agents/warm-plan.ts';
import type { NodeStatus, UpcomingCandidate } from '../../../src/workflow/index.ts';
import { upcomingNodes, upcomingStage } from '../../../src/workflow/index.ts';

const agent = (id: string, dependsOn: string[] = [], more: Partial<UpcomingCandidate> = {}): UpcomingCandidate => ({
  id,
  kind: 'agent',
  agent: more.agent ?? 'coder',
  dependsOn,
  resumes: false,
  ...more,
});

const statuses =
  (map: Record<string, NodeStatus>) =>
  (id: string): NodeStatus | undefined =>
    map[id];

// The team workflow of the warm start bench: a planner, 8 coders after it, a reviewer after them.
const coders = Array.from({ length: 8 }, (_, i) => `code${i}`);
const team = [
  agent('plan', [], { agent: 'planner' }),
  ...coders.map((id) => agent(id, ['plan'])),
  agent('review', coders, { agent: 'reviewer' }),
];

describe('upcoming nodes', () => {
  it('are the dependents of running nodes, not the nodes starting now nor those two levels down', () => {
    const upcoming = upcomingNodes(team, statuses({ plan: 'running' }));
    expect(upcoming.map((n) => n.id)).toEqual(coders);
    expect(upcoming.every((n) => n.stage === 'next' && n.agent === 'coder')).toBe(true);
    // Nothing runs yet: the planner starts now (no spare could win that race), the rest waits.
    expect(upcomingNodes(team, statuses({}))).toEqual([]);
  });

  it('put nodes queued for a process slot first, then those whose dependencies all run or are done', () => {
    const state: Record<string, NodeStatus> = { plan: 'completed' };
    coders.forEach((id, i) => {
      state[id] = i < 4 ? 'running' : 'queued';
    });
    // The reviewer waits on queued coders: not yet.
    expect(upcomingNodes(team, statuses(state)).map((n) => [n.id, n.stage])).toEqual(
      coders.slice(4).map((id) => [id, 'queued']),
    );
    for (const id of coders.slice(4)) state[id] = 'completed';
    state.code0 = 'completed';
    expect(upcomingNodes(team, statuses(state))).toEqual([{ id: 'review', agent: 'reviewer', stage: 'next' }]);
    // Every coder done: the reviewer is ready now and starts on its own.
    for (const id of coders) state[id] = 'completed';
    expect(upcomingNodes(team, statuses(state))).toEqual([]);
  });

  it('wait until a running dependency has started up (its agent is ready): spares beside it would slow it', () => {
    const running = statuses({ plan: 'running' });
    expect(upcomingNodes(team, running, (id) => id === 'plan')).toEqual([]);
    expect(upcomingNodes(team, running, () => false)).toHaveLength(8);
    // A queued node waits for a slot only: its spare does not wait for anyone's start-up.
    expect(upcomingStage(agent('x', ['plan']), statuses({ plan: 'running', x: 'queued' }), () => true)).toBe('queued');
  });

  it('count a ready node held back by a concurrency limit, after the queued ones and before the next', () => {
    // Four coders run (the workflow's limit), four wait with the planner done; the reviewer is
    // not next yet (coders pending).
    const state: Record<string, NodeStatus> = { plan: 'completed' };
    coders.forEach((id, i) => {
      if (i < 4) state[id] = 'running';
    });
    const held = (node: UpcomingCandidate) => node.agent === 'coder';
    expect(upcomingNodes(team, statuses(state), undefined, held).map((n) => [n.id, n.stage])).toEqual(
      coders.slice(4).map((id) => [id, 'held']),
    );
    // No limit holds them: the engine starts them in this step, no spare.
    expect(upcomingNodes(team, statuses(state))).toEqual([]);
    const order = upcomingNodes(
      [agent('n', ['r']), agent('h', ['c']), agent('q', ['c'])],
      statuses({ r: 'running', c: 'completed', q: 'queued' }),
      undefined,
      () => true,
    );
    expect(order.map((n) => n.stage)).toEqual(['queued', 'held', 'next']);
  });

  it('leave out nodes whose dependencies failed, wait for a human or a retry, and nodes that cannot use a spare', () => {
    for (const status of ['failed', 'skipped', 'awaiting_input', 'retry_wait', 'queued', 'pending'] as const) {
      expect(upcomingStage(agent('b', ['a', 'c']), statuses({ a: status, c: 'running' }))).toBeUndefined();
    }
    const running = statuses({ a: 'running' });
    expect(upcomingStage(agent('b', ['a'], { resumes: true }), running)).toBeUndefined();
    expect(upcomingStage(agent('b', ['a'], { kind: 'function', agent: undefined }), running)).toBeUndefined();
    expect(upcomingStage(agent('b', ['a'], { kind: 'human' }), running)).toBeUndefined();
    // The node itself started (or ended) already.
    for (const status of ['running', 'completed', 'skipped'] as const) {
      expect(upcomingStage(agent('b', ['a']), statuses({ a: 'running', b: status }))).toBeUndefined();
    }
    expect(upcomingStage(agent('b', ['a']), running)).toBe('next');
  });
});

describe('spares to start', () => {
  const have = (counts: Record<string, number>) => (key: string) => counts[key] ?? 0;

  it('gives each wanted agent one spare, counting those parked or starting', () => {
    const wants = [{ key: 'coder' }, { key: 'coder' }, { key: 'coder' }, { key: 'reviewer' }];
    expect([...sparesToStart(wants, have({ coder: 1 }), 10)]).toEqual([
      ['coder', 2],
      ['reviewer', 1],
    ]);
    expect(sparesToStart(wants, have({ coder: 5, reviewer: 1 }), 10).size).toBe(0);
  });

  it('stops at the room left, serving the first wants first', () => {
    const wants = [{ key: 'reviewer' }, { key: 'coder' }, { key: 'coder' }];
    expect([...sparesToStart(wants, have({}), 2)]).toEqual([
      ['reviewer', 1],
      ['coder', 1],
    ]);
    expect(sparesToStart(wants, have({}), 0).size).toBe(0);
    expect(sparesToStart(wants, have({}), -3).size).toBe(0);
  });

  it('leaves room in memory for the spares and the floor', () => {
    const mb = 1024 * 1024;
    expect(memoryRoom(2048 * mb, 1024 * mb, 256 * mb)).toBe(4);
    expect(memoryRoom(1200 * mb, 1024 * mb, 256 * mb)).toBe(0);
    expect(memoryRoom(512 * mb, 1024 * mb, 256 * mb)).toBe(0);
    expect(memoryRoom(Number.NaN, 0)).toBe(0);
  });
});

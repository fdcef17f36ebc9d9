import { describe, expect, it } from 'vitest';
import {
  AdmissionQueue,
  DependencyTracker,
  evaluateTrigger,
  type NodeStatus,
  type SchedulableNode,
} from '../../../src/workflow/index.ts';

const deps = (...statuses: NodeStatus[]) => statuses.map((status, i) => ({ id: `d${i}`, status }));
const node = (id: string, dependsOn: string[] = [], group?: string): SchedulableNode => ({
  id,
  dependsOn,
  group,
  trigger: 'all_success',
});

describe('evaluateTrigger', () => {
  const cases: Array<[string, NodeStatus[], boolean, boolean, boolean]> = [
    // statuses, all_success, none_failed, all_done
    ['all completed', ['completed', 'completed'], true, true, true],
    ['one skipped', ['completed', 'skipped'], false, true, true],
    ['one failed', ['completed', 'failed'], false, false, true],
    ['one cancelled', ['cancelled', 'completed'], false, false, true],
    ['all skipped', ['skipped', 'skipped'], false, true, true],
    ['no dependencies', [], true, true, true],
  ];
  it.each(cases)('%s', (_name, statuses, allSuccess, noneFailed, allDone) => {
    expect(evaluateTrigger('all_success', deps(...statuses)).run).toBe(allSuccess);
    expect(evaluateTrigger('none_failed', deps(...statuses)).run).toBe(noneFailed);
    expect(evaluateTrigger('all_done', deps(...statuses)).run).toBe(allDone);
  });

  it('names the first dependency that blocks, its status and the rule', () => {
    expect(evaluateTrigger('all_success', deps('completed', 'failed', 'skipped'))).toEqual({
      run: false,
      reason: 'dependency "d1" failed (trigger all_success)',
    });
    expect(evaluateTrigger('none_failed', deps('skipped', 'cancelled'))).toEqual({
      run: false,
      reason: 'dependency "d1" cancelled (trigger none_failed)',
    });
  });
});

describe('DependencyTracker', () => {
  // a -> b, a -> c, (b, c) -> d, e alone
  const diamond = [node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c']), node('e')];

  it('starts with the roots ready', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    expect(tracker.readyNodes().sort()).toEqual(['a', 'e']);
  });

  it('settle returns only the dependents that just became ready, once', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    expect(tracker.settle('a').sort()).toEqual(['b', 'c']);
    expect(tracker.settle('a')).toEqual([]);
    expect(tracker.settle('b')).toEqual([]);
    expect(tracker.settle('e')).toEqual([]);
    expect(tracker.settle('c')).toEqual(['d']);
    expect(tracker.isSettled('c')).toBe(true);
    expect(tracker.isSettled('d')).toBe(false);
  });

  it('counts settled nodes from the state it is built on', () => {
    const status: Record<string, NodeStatus> = { a: 'completed', b: 'skipped', c: 'running', e: 'failed' };
    const tracker = new DependencyTracker(diamond, (id) => status[id]);
    // a, b and e are settled, so never ready again; c is running (not settled), so d waits.
    expect(tracker.readyNodes()).toEqual(['c']);
    expect(tracker.settle('c')).toEqual(['d']);
  });

  it('add registers a node at run time and tells whether it is ready at once', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    tracker.settle('a');
    expect(tracker.add(node('x', ['a']))).toBe(true);
    expect(tracker.add(node('y', ['b', 'x']))).toBe(false);
    expect(tracker.settle('x')).toEqual([]);
    expect(tracker.settle('b')).toEqual(['y']);
  });

  it('addDependency makes a waiting node also wait for an inserted one', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    tracker.add(node('x', ['a']));
    tracker.addDependency('d', 'x');
    tracker.settle('a');
    tracker.settle('b');
    expect(tracker.settle('c')).toEqual([]);
    expect(tracker.settle('x')).toEqual(['d']);
  });

  it('dependenciesSettled tells whether a node may start now', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    expect(tracker.dependenciesSettled('a')).toBe(true);
    expect(tracker.dependenciesSettled('b')).toBe(false);
    tracker.settle('a');
    expect(tracker.dependenciesSettled('b')).toBe(true);
    tracker.add(node('x'));
    tracker.addDependency('b', 'x');
    expect(tracker.dependenciesSettled('b')).toBe(false);
  });

  it('releases dependents known from the start and added later together, in the order they were listed', () => {
    // f depends on a name that is no node: it never becomes ready, whatever settles.
    const nodes = [node('a'), node('c', ['a']), node('b', ['a']), node('f', ['ghost']), node('g', ['a', 'a'])];
    const tracker = new DependencyTracker(nodes, () => 'pending');
    tracker.add(node('x', ['a']));
    tracker.add(node('y', ['c']));
    tracker.addDependency('b', 'y');
    // Listed order first (c, b; g waits on a twice, as listed), then the later ones (x).
    expect(tracker.settle('a')).toEqual(['c', 'g', 'x']);
    expect(tracker.settle('c')).toEqual(['y']);
    expect(tracker.settle('y')).toEqual(['b']);
    expect(tracker.readyNodes()).toEqual(['b', 'g', 'x']);
    expect(tracker.dependenciesSettled('f')).toBe(false);
    expect(tracker.settle('ghost')).toEqual(['f']);
  });

  it('addDependency on a settled dependency adds no wait', () => {
    const tracker = new DependencyTracker(diamond, () => 'pending');
    tracker.settle('e');
    tracker.addDependency('b', 'e');
    expect(tracker.settle('a').sort()).toEqual(['b', 'c']);
  });
});

describe('AdmissionQueue', () => {
  it('admits at most the workflow limit at once and refills on release', () => {
    const queue = new AdmissionQueue(2, new Map());
    for (const id of ['a', 'b', 'c']) queue.enqueue(id, undefined);
    expect([queue.next(), queue.next(), queue.next()]).toEqual(['a', 'b', undefined]);
    expect(queue.running).toBe(2);
    expect(queue.queued).toBe(1);
    queue.release(undefined);
    expect(queue.next()).toBe('c');
    expect(queue.next()).toBeUndefined();
    expect(queue.queued).toBe(0);
  });

  it('holds a group to its own limit while other nodes go ahead, FIFO within the group', () => {
    const queue = new AdmissionQueue(10, new Map([['g', 1]]));
    queue.enqueue('g1', 'g');
    queue.enqueue('g2', 'g');
    queue.enqueue('g3', 'g');
    queue.enqueue('x', undefined);
    const first = [queue.next(), queue.next(), queue.next()];
    expect(first).toEqual(['g1', 'x', undefined]);
    queue.release('g');
    expect(queue.next()).toBe('g2');
    expect(queue.next()).toBeUndefined();
    queue.release('g');
    expect(queue.next()).toBe('g3');
  });

  it('applies the workflow limit across groups', () => {
    const queue = new AdmissionQueue(
      2,
      new Map([
        ['g', 5],
        ['h', 5],
      ]),
    );
    queue.enqueue('g1', 'g');
    queue.enqueue('h1', 'h');
    queue.enqueue('h2', 'h');
    expect([queue.next(), queue.next(), queue.next()]).toEqual(['g1', 'h1', undefined]);
    queue.release('g');
    expect(queue.next()).toBe('h2');
  });

  it('drain removes every queued node and returns them; running slots stay held', () => {
    const queue = new AdmissionQueue(1, new Map([['g', 1]]));
    queue.enqueue('a', undefined);
    queue.enqueue('b', undefined);
    queue.enqueue('g1', 'g');
    expect(queue.next()).toBe('a');
    expect(queue.drain().sort()).toEqual(['b', 'g1']);
    expect(queue.queued).toBe(0);
    expect(queue.running).toBe(1);
    queue.release(undefined);
    expect(queue.next()).toBeUndefined();
    queue.enqueue('c', undefined);
    expect(queue.next()).toBe('c');
  });

  it('stays FIFO across the compaction of a long queue', () => {
    const queue = new AdmissionQueue(1, new Map());
    const ids = Array.from({ length: 3000 }, (_, i) => `n${i}`);
    for (const id of ids) queue.enqueue(id, undefined);
    const out: string[] = [];
    for (let id = queue.next(); id !== undefined; id = queue.next()) {
      out.push(id);
      queue.release(undefined);
    }
    expect(out).toEqual(ids);
  });

  it('holds agent nodes and other nodes to their own caps, neither waiting behind the other', () => {
    const queue = new AdmissionQueue(Number.POSITIVE_INFINITY, new Map(), { agent: 1, other: 3 });
    queue.enqueue('a1', undefined, 'agent');
    queue.enqueue('a2', undefined, 'agent');
    for (const id of ['f1', 'f2', 'f3', 'f4']) queue.enqueue(id, undefined, 'other');
    const admitted: string[] = [];
    for (let id = queue.next(); id !== undefined; id = queue.next()) admitted.push(id);
    // One agent (its cap), three others (theirs), although a2 was queued before every other node.
    expect(admitted.sort()).toEqual(['a1', 'f1', 'f2', 'f3']);
    queue.release(undefined, 'other');
    expect(queue.next()).toBe('f4');
    expect(queue.next()).toBeUndefined();
    queue.release(undefined, 'agent');
    expect(queue.next()).toBe('a2');
  });

  it('keeps a group limit and the workflow limit over both classes', () => {
    const queue = new AdmissionQueue(3, new Map([['g', 1]]), { agent: 5, other: 5 });
    queue.enqueue('ga', 'g', 'agent');
    queue.enqueue('gf', 'g', 'other');
    for (const id of ['x1', 'x2', 'x3']) queue.enqueue(id, undefined, 'other');
    const admitted = [queue.next(), queue.next(), queue.next(), queue.next()];
    // The group admits one of its two (either class); the workflow limit stops the run at three.
    expect(admitted.filter((id) => id?.startsWith('g'))).toHaveLength(1);
    expect(admitted.filter((id) => id !== undefined)).toHaveLength(3);
    expect(queue.running).toBe(3);
  });
});

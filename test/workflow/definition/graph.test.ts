import { describe, expect, it } from 'vitest';
import {
  defineWorkflow,
  findCycles,
  formatCycle,
  type GraphNode,
  topologicalOrder,
  upstreamOf,
  validateGraphChange,
} from '../../../src/workflow/index.ts';

const n = (id: string, ...dependsOn: string[]): GraphNode => ({ id, dependsOn });

describe('topological order', () => {
  it('puts dependencies first and, among ready nodes, the one listed first', () => {
    const nodes = [n('d', 'b', 'c'), n('c', 'a'), n('b', 'a'), n('a'), n('e')];
    // Among ready nodes the one listed first goes first: d (listed first) runs as soon as b and c are done.
    expect(topologicalOrder(nodes)).toEqual({ order: ['a', 'c', 'b', 'd', 'e'], blocked: [] });
  });

  it('leaves nodes on or behind a cycle blocked', () => {
    expect(topologicalOrder([n('a', 'b'), n('b', 'a'), n('c', 'b'), n('d')])).toEqual({
      order: ['d'],
      blocked: ['a', 'b', 'c'],
    });
  });
});

describe('cycles', () => {
  it('returns each cycle in run order starting at the first listed node', () => {
    const cycles = findCycles([
      n('x', 'z'),
      n('tail', 'x'),
      n('y', 'x'),
      n('z', 'y'),
      n('p', 'q'),
      n('q', 'p'),
      n('ok'),
    ]);
    expect(cycles).toEqual([
      ['x', 'y', 'z'],
      ['p', 'q'],
    ]);
    expect(cycles.map(formatCycle)).toEqual(['x -> y -> z -> x', 'p -> q -> p']);
  });

  it('finds self-dependencies and nothing in an acyclic graph', () => {
    expect(findCycles([n('a', 'a')])).toEqual([['a']]);
    expect(findCycles([n('a'), n('b', 'a'), n('c', 'a', 'b')])).toEqual([]);
  });

  it('computes transitive upstream sets', () => {
    const deps = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['a']],
    ]);
    expect([...upstreamOf('c', deps)].sort()).toEqual(['a', 'b']);
    expect([...upstreamOf('a', deps)]).toEqual([]);
  });
});

describe('validateGraphChange', () => {
  const wf = defineWorkflow({
    name: 'g',
    agents: { a: {} },
    limits: { maxNodes: 5 },
    nodes: [
      { id: 'plan', agent: 'a', task: 't' },
      { id: 'build', agent: 'a', task: 't', dependsOn: ['plan'] },
      { id: 'test', agent: 'a', task: 't', dependsOn: ['build'] },
    ],
  });

  it('accepts new nodes that depend on existing and on each other', () => {
    expect(
      validateGraphChange(wf, { addNodes: [n('docs', 'plan'), n('lint', 'docs', 'build')] }, { plan: 'completed' }),
    ).toEqual([]);
  });

  it('refuses unknown dependencies, used or invalid ids, and going over the node limit', () => {
    const problems = validateGraphChange(wf, {
      addNodes: [n('build', 'plan'), n('bad id'), n('x', 'buidl')],
    });
    expect(problems).toEqual([
      { path: 'addNodes[0].id', message: "node 'build' already exists" },
      { path: 'addNodes[1].id', message: 'invalid node id "bad id"' },
      { path: 'addNodes[2].dependsOn[0]', message: "unknown node 'buidl'; did you mean 'build'?" },
      { path: 'addNodes', message: 'the workflow would have 6 nodes, more than its limit of 5 (limits.maxNodes)' },
    ]);
  });

  it('refuses cycles made by new dependencies of existing nodes', () => {
    const problems = validateGraphChange(wf, { addNodes: [n('fix', 'test')], addDependencies: [n('build', 'fix')] });
    expect(problems).toEqual([
      { path: '', message: 'the change would create a dependency cycle: build -> test -> fix -> build' },
    ]);
  });

  it('only changes or skips nodes that have not started', () => {
    const statuses = { plan: 'completed', build: 'running', test: 'pending' };
    expect(
      validateGraphChange(wf, { addDependencies: [n('build', 'plan')], skipNodes: ['test', 'plan', 'nope'] }, statuses),
    ).toEqual([
      { path: 'addDependencies[0].id', message: "node 'build' is running, not pending" },
      { path: 'skipNodes[1]', message: "node 'plan' is completed, not pending" },
      { path: 'skipNodes[2]', message: "unknown node 'nope'" },
    ]);
  });
});

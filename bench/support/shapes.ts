import { defineWorkflow } from '../../src/workflow/index.ts';

/** Workflow shapes the scheduler and public-API benches share: dependencies only, no work. */
export interface BenchShape {
  name: string;
  nodes: Array<{ id: string; dependsOn: string[] }>;
}

export function chain(n: number): BenchShape {
  return {
    name: `chain of ${n}`,
    nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, dependsOn: i === 0 ? [] : [`n${i - 1}`] })),
  };
}

export function fan(width: number): BenchShape {
  const middle = Array.from({ length: width }, (_, i) => ({ id: `m${i}`, dependsOn: ['root'] }));
  return {
    name: `fan-out/fan-in 1 -> ${width} -> 1`,
    nodes: [{ id: 'root', dependsOn: [] }, ...middle, { id: 'sink', dependsOn: middle.map((m) => m.id) }],
  };
}

export function layered(layers: number, width: number): BenchShape {
  const nodes: BenchShape['nodes'] = [];
  for (let l = 0; l < layers; l++) {
    for (let w = 0; w < width; w++) {
      const deps = l === 0 ? [] : [0, 1, 2].map((k) => `l${l - 1}_${(w + k) % width}`);
      nodes.push({ id: `l${l}_${w}`, dependsOn: [...new Set(deps)] });
    }
  }
  return { name: `layered ${layers} x ${width} (3 deps each)`, nodes };
}

/** The four shapes of issue 15, and a 10,000-node chain to show whether cost per node stays flat. */
export function publicApiShapes(): BenchShape[] {
  return [chain(1000), fan(1000), layered(50, 20), layered(100, 100), chain(10_000)];
}

/**
 * A shape as a workflow of instant `function` nodes (each returns 1): the definition (every
 * node names one unused agent type, as the format wants) and the functions by node id.
 */
export function instantWorkflow(shape: BenchShape, concurrency: number) {
  const workflow = defineWorkflow({
    name: 'bench',
    agents: { noop: { systemPrompt: 'unused' } },
    concurrency,
    limits: { maxNodes: 10_000 },
    nodes: shape.nodes.map((n) => ({ id: n.id, agent: 'noop', task: 'noop', dependsOn: n.dependsOn })),
  });
  const functions = Object.fromEntries(shape.nodes.map((n) => [n.id, () => 1]));
  return { workflow, functions };
}

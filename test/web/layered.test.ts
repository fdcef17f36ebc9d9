import { describe, expect, it } from 'vitest';
import { layeredLayout } from '../../web/src/graph/layered.ts';
import { syntheticDefinition } from '../support/synthetic-api.ts';

// The large graphs' layout (web/src/graph/layered.ts), in Node.

const SIZE = { width: 100, height: 40, gapX: 20, gapY: 10 };

describe('layeredLayout', () => {
  it('puts each node one layer right of its deepest dependency', () => {
    const positions = layeredLayout(
      [
        { id: 'a', dependsOn: [] },
        { id: 'b', dependsOn: ['a'] },
        { id: 'c', dependsOn: ['a', 'b'] },
        { id: 'd', dependsOn: [] },
      ],
      SIZE,
    );
    expect(positions.get('a')?.x).toBe(0);
    expect(positions.get('b')?.x).toBe(120);
    expect(positions.get('c')?.x).toBe(240);
    expect(positions.get('d')?.x).toBe(0);
  });

  it('orders a layer by its parents, so edges do not cross needlessly', () => {
    // p1 above p2; their children listed the other way round end up in their parents' order.
    const positions = layeredLayout(
      [
        { id: 'p1', dependsOn: [] },
        { id: 'p2', dependsOn: [] },
        { id: 'c2', dependsOn: ['p2'] },
        { id: 'c1', dependsOn: ['p1'] },
      ],
      SIZE,
    );
    expect((positions.get('c1')?.y ?? 0) < (positions.get('c2')?.y ?? 0)).toBe(
      (positions.get('p1')?.y ?? 0) < (positions.get('p2')?.y ?? 0),
    );
  });

  it('places nodes on a cycle (never in a valid workflow) and unknown dependencies without failing', () => {
    const positions = layeredLayout(
      [
        { id: 'x', dependsOn: ['y'] },
        { id: 'y', dependsOn: ['x'] },
        { id: 'z', dependsOn: ['nowhere'] },
      ],
      SIZE,
    );
    expect(positions.size).toBe(3);
  });

  it('lays out 10,000 nodes in well under a second, no two boxes on one spot', () => {
    const definition = syntheticDefinition(10_000, 20) as { nodes: { id: string; dependsOn: string[] }[] };
    const started = performance.now();
    const positions = layeredLayout(definition.nodes, SIZE);
    const ms = performance.now() - started;
    expect(positions.size).toBe(10_000);
    expect(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size).toBe(10_000);
    expect(ms).toBeLessThan(2000);
  });
});

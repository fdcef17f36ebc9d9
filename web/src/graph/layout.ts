import ELK, { type ElkNode } from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';

/**
 * The graph's automatic layout: ELK's layered algorithm, run in a web worker so that laying
 * out a large workflow never blocks the page (the page shows a quick placement meanwhile).
 * The worker (1.6 MB) is loaded the first time a graph is laid out, not with the page.
 */

/** A box to place. */
export interface LayoutBox {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

/** An edge to route around. */
export interface LayoutEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
}

let elk: InstanceType<typeof ELK> | undefined;

/** Top-left positions of the boxes, left to right along the edges. */
export async function elkLayout(
  boxes: readonly LayoutBox[],
  edges: readonly LayoutEdge[],
): Promise<Map<string, { x: number; y: number }>> {
  elk ??= new ELK({ workerUrl });
  const large = boxes.length > 500;
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '24',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.edgeRouting': 'POLYLINE',
      // Large graphs trade a few crossings for time: a 10,000-node run must lay out in seconds.
      ...(large && {
        'elk.layered.crossingMinimization.strategy': 'INTERACTIVE',
        'elk.layered.nodePlacement.strategy': 'SIMPLE',
        'elk.layered.thoroughness': '1',
      }),
    },
    children: boxes.map((box) => ({ id: box.id, width: box.width, height: box.height })),
    edges: edges.map((edge) => ({ id: edge.id, sources: [edge.source], targets: [edge.target] })),
  };
  const result = await elk.layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const child of result.children ?? []) positions.set(child.id, { x: child.x ?? 0, y: child.y ?? 0 });
  return positions;
}

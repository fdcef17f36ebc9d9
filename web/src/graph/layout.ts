import ElkModule, { type ElkNode } from 'elkjs/lib/elk-api.js';
import workerUrl from 'elkjs/lib/elk-worker.min.js?url';
import type { LayeredNode } from './layered.ts';

/**
 * elk-api is CommonJS with `exports.default`: the bundler hands the class to a default import,
 * Node's rules (which the type check follows, like the rest of the project) the module object.
 */
const ELK = ElkModule.default ?? (ElkModule as unknown as typeof ElkModule.default);

/**
 * The graph's automatic layout, always off the page's thread. Graphs up to
 * {@link ELK_MAX_NODES} nodes get ELK's layered algorithm (fewer crossings, better spacing), in
 * its worker, loaded the first time it is needed (1.6 MB, not part of the page's first load).
 * Larger graphs, where ELK would take tens of seconds, get the project's own layered layout
 * (`layered.ts`) in a worker of their own: 10,000 nodes in well under a second.
 */

/** Above this many nodes, the cheap layered layout replaces ELK. */
export const ELK_MAX_NODES = 400;

/** Box size and gaps. */
export interface BoxSize {
  readonly width: number;
  readonly height: number;
  readonly gapX: number;
  readonly gapY: number;
}

/** Which engine placed the nodes. */
export type LayoutEngine = 'elk' | 'layered';

let elk: InstanceType<typeof ELK> | undefined;
let layered: Worker | undefined;
let requests = 0;

/** Top-left positions of the nodes, left to right along their dependencies. */
export async function layoutGraph(
  nodes: readonly LayeredNode[],
  size: BoxSize,
): Promise<{ positions: Map<string, { x: number; y: number }>; engine: LayoutEngine }> {
  if (nodes.length <= ELK_MAX_NODES) return { positions: await elkLayout(nodes, size), engine: 'elk' };
  return { positions: await layeredInWorker(nodes, size), engine: 'layered' };
}

async function elkLayout(nodes: readonly LayeredNode[], size: BoxSize): Promise<Map<string, { x: number; y: number }>> {
  elk ??= new ELK({ workerUrl });
  const ids = new Set(nodes.map((n) => n.id));
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': String(size.gapY),
      'elk.layered.spacing.nodeNodeBetweenLayers': String(size.gapX),
      'elk.edgeRouting': 'POLYLINE',
      // Past a hundred nodes, a few crossings more for a layout several times faster.
      ...(nodes.length > 100 && {
        'elk.layered.crossingMinimization.strategy': 'INTERACTIVE',
        'elk.layered.nodePlacement.strategy': 'SIMPLE',
        'elk.layered.thoroughness': '1',
        'elk.layered.layering.strategy': 'LONGEST_PATH',
      }),
    },
    children: nodes.map((n) => ({ id: n.id, width: size.width, height: size.height })),
    edges: nodes.flatMap((n) =>
      n.dependsOn.filter((d) => ids.has(d)).map((d) => ({ id: `${d}->${n.id}`, sources: [d], targets: [n.id] })),
    ),
  };
  const result = await elk.layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const child of result.children ?? []) positions.set(child.id, { x: child.x ?? 0, y: child.y ?? 0 });
  return positions;
}

/**
 * Starts the large graphs' worker ahead of need (its script is fetched while the session's
 * events arrive, not after).
 */
export function warmLayoutWorker(): void {
  layered ??= new Worker(new URL('./layout-worker.ts', import.meta.url), { type: 'module', name: 'graph-layout' });
}

function layeredInWorker(nodes: readonly LayeredNode[], size: BoxSize): Promise<Map<string, { x: number; y: number }>> {
  warmLayoutWorker();
  const worker = layered as Worker;
  const id = ++requests;
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent<{ id: number; ids: string[]; xy: Float64Array }>) => {
      if (event.data.id !== id) return;
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      const positions = new Map<string, { x: number; y: number }>();
      event.data.ids.forEach((nodeId, i) => {
        positions.set(nodeId, { x: event.data.xy[i * 2] ?? 0, y: event.data.xy[i * 2 + 1] ?? 0 });
      });
      resolve(positions);
    };
    const onError = (event: ErrorEvent) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      reject(new Error(event.message));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage({ id, nodes: nodes.map((n) => ({ id: n.id, dependsOn: n.dependsOn })), size });
  });
}

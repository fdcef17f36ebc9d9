import { type LayeredNode, type LayeredSize, layeredLayout } from './layered.ts';

/**
 * The large graphs' layout, off the page's thread: receives nodes and box sizes, answers with
 * positions as flat arrays (ids, then x and y), which cross between threads cheaply.
 */

/** The worker's side of the channel (typed here: the project's lib is the DOM's, not the worker's). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ id: number; nodes: LayeredNode[]; size: LayeredSize }>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};

scope.onmessage = (event) => {
  const { id, nodes, size } = event.data;
  const positions = layeredLayout(nodes, size);
  const ids: string[] = [];
  const xy = new Float64Array(positions.size * 2);
  let i = 0;
  for (const [nodeId, at] of positions) {
    ids.push(nodeId);
    xy[i++] = at.x;
    xy[i++] = at.y;
  }
  scope.postMessage({ id, ids, xy }, [xy.buffer]);
};

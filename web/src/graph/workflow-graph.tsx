import {
  Background,
  Controls,
  type Edge,
  Handle,
  MarkerType,
  MiniMap,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Viewport,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { edgesOf, type GraphNode, quickLayout } from '../model/graph.ts';
import { statusLabel } from '../ui/format.ts';
import { layoutGraph } from './layout.ts';

/**
 * The workflow as a graph: one box per node, coloured and labelled by its state, edges from
 * each dependency, nodes added at run time outlined and labelled with who added them. Laid
 * out in a worker (ELK for small graphs, a cheaper layered layout for large ones; a quick
 * placement by depth shows at once). Only the boxes of nodes that changed are rebuilt when
 * events arrive, and a large graph draws only the boxes in view, so a 1,000-node run stays
 * smooth.
 */

const BOX = { width: 190, height: 64, gapX: 56, gapY: 24 };

/** Above this many nodes the graph opens on its start (not fitted whole) and draws only what is in view. */
const LARGE = 150;

/**
 * Every box's size and handles, given rather than measured. React Flow measures a node it
 * knows no handles of (a forced layout per box) and draws it even out of view until it has,
 * for every node object it has not seen: with a thousand nodes changing state, that was most
 * of the page's time.
 */
const HANDLE = 6;
const MEASURED = { width: BOX.width, height: BOX.height };
const HANDLES = [
  {
    id: null,
    type: 'target' as const,
    position: Position.Left,
    x: -HANDLE / 2,
    y: BOX.height / 2 - HANDLE / 2,
    width: HANDLE,
    height: HANDLE,
  },
  {
    id: null,
    type: 'source' as const,
    position: Position.Right,
    x: BOX.width - HANDLE / 2,
    y: BOX.height / 2 - HANDLE / 2,
    width: HANDLE,
    height: HANDLE,
  },
];

interface StepData extends Record<string, unknown> {
  readonly node: GraphNode;
  readonly rev: number;
  readonly agentLabel: string | undefined;
}

type StepNode = Node<StepData, 'step'>;

const StepBox = memo(function StepBox({ data, selected }: NodeProps<StepNode>) {
  const { node, agentLabel } = data;
  return (
    <div
      className={`step status-${node.status}${node.added ? ' added' : ''}${selected ? ' selected' : ''}`}
      data-testid={`node-${node.id}`}
      data-status={node.status}
      data-added={node.added ? 'true' : undefined}
      title={node.reason ? `${statusLabel(node.status)}: ${node.reason}` : (node.text ?? node.id)}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="step-title">
        <span className="step-id">{node.id}</span>
        <span className="step-status">{statusLabel(node.status)}</span>
      </div>
      <div className="step-meta">
        {node.kind === 'agent' ? (node.agentType ?? 'agent') : node.kind}
        {node.attempts > 1 ? ` · attempt ${node.attempts}` : ''}
        {node.cached ? ' · cached' : ''}
      </div>
      {node.added ? <div className="step-added">added by {agentLabel ?? node.added.by}</div> : null}
      {!node.added && node.reason && (node.status === 'skipped' || node.status === 'cancelled') ? (
        <div className="step-meta">{node.reason}</div>
      ) : null}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const NODE_TYPES = { step: StepBox };

/** Props of {@link WorkflowGraph}. */
export interface WorkflowGraphProps {
  readonly nodes: ReadonlyMap<string, GraphNode>;
  /** The model's graph revision (nodes or edges added). */
  readonly graphRev: number;
  /** The model's node revision (any node's state changed). */
  readonly nodesRev: number;
  readonly selected: string | undefined;
  readonly onSelect: (nodeId: string | undefined) => void;
  /** The label of who added a node (`lead agent agt_…`). */
  readonly addedLabel: (node: GraphNode) => string | undefined;
}

/** Where a large graph opens: its first layers, top left, at a readable zoom. */
function openingView(positions: ReadonlyMap<string, { x: number; y: number }>): Viewport {
  let minX = Number.POSITIVE_INFINITY;
  for (const p of positions.values()) minX = Math.min(minX, p.x);
  let minY = Number.POSITIVE_INFINITY;
  for (const p of positions.values()) if (p.x <= minX + 1) minY = Math.min(minY, p.y);
  const zoom = 0.8;
  return { x: 24 - minX * zoom, y: 24 - minY * zoom, zoom };
}

/**
 * The nodes a large graph hands React Flow: those in view (and half a view around it), plus the
 * other ends of their edges so that edges leaving the view are drawn. React Flow's own
 * culling still walks every node and edge on each update; handing it a window keeps a
 * 10,000-node graph as light as a 100-node one. O(V + E).
 */
function windowOf(
  nodes: ReadonlyMap<string, GraphNode>,
  positions: ReadonlyMap<string, { x: number; y: number }>,
  view: Viewport,
  size: { readonly width: number; readonly height: number },
): Set<string> {
  const [mx, my] = [size.width / 2 / view.zoom, size.height / 2 / view.zoom];
  const x0 = -view.x / view.zoom - mx;
  const y0 = -view.y / view.zoom - my;
  const x1 = (-view.x + size.width) / view.zoom + mx;
  const y1 = (-view.y + size.height) / view.zoom + my;
  const inView = new Set<string>();
  for (const [id, p] of positions) {
    if (p.x + BOX.width >= x0 && p.x <= x1 && p.y + BOX.height >= y0 && p.y <= y1) inView.add(id);
  }
  const shown = new Set(inView);
  for (const node of nodes.values()) {
    const here = inView.has(node.id);
    for (const dep of node.dependsOn) {
      if (here) shown.add(dep);
      else if (inView.has(dep)) shown.add(node.id);
    }
  }
  return shown;
}

export function WorkflowGraph(props: WorkflowGraphProps) {
  return (
    <ReactFlowProvider>
      <GraphView {...props} />
    </ReactFlowProvider>
  );
}

function GraphView({ nodes, graphRev, nodesRev, selected, onSelect, addedLabel }: WorkflowGraphProps) {
  const [positions, setPositions] = useState<Map<string, { x: number; y: number }>>(new Map());
  const [layoutState, setLayoutState] = useState<'quick' | 'elk' | 'layered' | 'failed'>('quick');
  const flow = useReactFlow();
  const fitted = useRef(0);
  const large = nodes.size > LARGE;
  const container = useRef<HTMLDivElement>(null);
  // The view of a large graph, followed at most once a frame while it is panned or zoomed.
  const [view, setView] = useState<Viewport | undefined>();
  const pendingView = useRef<Viewport | undefined>(undefined);
  const viewFrame = useRef(0);
  const onMove = useCallback((_event: unknown, next: Viewport) => {
    pendingView.current = next;
    if (viewFrame.current) return;
    viewFrame.current = requestAnimationFrame(() => {
      viewFrame.current = 0;
      setView(pendingView.current);
    });
  }, []);
  useEffect(() => () => cancelAnimationFrame(viewFrame.current), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: graphRev stands for the map's structure
  const shown = useMemo(() => {
    if (!large || positions.size === 0) return undefined;
    const size = {
      width: container.current?.clientWidth || 1000,
      height: container.current?.clientHeight || 560,
    };
    return windowOf(nodes, positions, view ?? openingView(positions), size);
  }, [large, nodes, graphRev, positions, view]);

  // The layout follows the graph's structure: quick at once, the worker's when it answers.
  // biome-ignore lint/correctness/useExhaustiveDependencies: graphRev stands for the map's structure
  useEffect(() => {
    // Nothing to place before the workflow's first event (and no layout engine to load for it).
    if (nodes.size === 0) return;
    let current = true;
    // A large graph keeps the places it has (new nodes get a quick one) until the worker
    // answers: replacing a thousand boxes twice costs the page more than waiting a moment.
    setPositions((old) => {
      if (nodes.size <= LARGE) return quickLayout(nodes, BOX);
      if (old.size === 0) return old;
      const quick = quickLayout(nodes, BOX);
      return new Map([...nodes.keys()].map((id) => [id, old.get(id) ?? quick.get(id) ?? { x: 0, y: 0 }]));
    });
    setLayoutState('quick');
    const started = performance.now();
    layoutGraph([...nodes.values()], BOX)
      .then(({ positions: laid, engine }) => {
        if (!current) return;
        performance.measure('graph-layout', {
          start: started,
          end: performance.now(),
          detail: { engine, nodes: nodes.size },
        });
        setPositions(laid);
        setLayoutState(engine);
      })
      .catch(() => {
        if (!current) return;
        setPositions(quickLayout(nodes, BOX));
        setLayoutState('failed');
      });
    return () => {
      current = false;
    };
  }, [graphRev, nodes]);

  // Box objects are kept between renders and rebuilt only for nodes whose revision moved.
  const cache = useRef(new Map<string, { rev: number; x: number; y: number; sel: boolean; box: StepNode }>());
  // biome-ignore lint/correctness/useExhaustiveDependencies: nodesRev stands for the nodes' states
  const flowNodes = useMemo(() => {
    const next = new Map<string, { rev: number; x: number; y: number; sel: boolean; box: StepNode }>();
    const list: StepNode[] = [];
    for (const node of nodes.values()) {
      const at = positions.get(node.id);
      // Not placed yet (a large graph's first layout is on its way), or out of view.
      if (!at || (shown && !shown.has(node.id))) continue;
      const sel = node.id === selected;
      const old = cache.current.get(node.id);
      let box = old?.box;
      if (!old || old.rev !== node.rev || old.x !== at.x || old.y !== at.y || old.sel !== sel) {
        box = {
          id: node.id,
          type: 'step',
          position: at,
          selected: sel,
          data: { node, rev: node.rev, agentLabel: node.added ? addedLabel(node) : undefined },
          ariaLabel: `${node.id}: ${statusLabel(node.status)}${node.added ? ', added at run time' : ''}`,
          width: BOX.width,
          height: BOX.height,
          measured: MEASURED,
          handles: HANDLES,
        };
      }
      next.set(node.id, { rev: node.rev, x: at.x, y: at.y, sel, box: box as StepNode });
      list.push(box as StepNode);
    }
    cache.current = next;
    return list;
  }, [nodes, nodesRev, positions, selected, addedLabel, shown]);

  const placed = positions.size > 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: graphRev stands for the map's structure
  const flowEdges = useMemo<Edge[]>(
    () =>
      // No edge before the first layout: a large graph's boxes are not drawn yet either.
      (placed ? edgesOf(nodes) : [])
        .filter((edge) => !shown || (shown.has(edge.source) && shown.has(edge.target)))
        .map((edge) => ({
          id: edge.id,
          source: edge.source,
          target: edge.target,
          markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
          className: nodes.get(edge.target)?.added || nodes.get(edge.source)?.added ? 'edge-added' : undefined,
        })),
    [nodes, graphRev, placed, shown],
  );

  // Fit the view when the layout lands, and again when nodes are added. A large graph opens
  // on its first layers at a readable zoom: fitting it whole would draw every box, unreadably.
  useEffect(() => {
    if (positions.size === 0) return;
    const key = positions.size * 10 + (layoutState === 'quick' ? 0 : 1);
    if (fitted.current === key) return;
    fitted.current = key;
    const frame = requestAnimationFrame(() => {
      if (positions.size <= LARGE) {
        void flow.fitView({ padding: 0.1, maxZoom: 1.2 });
        return;
      }
      const opening = openingView(positions);
      void flow.setViewport(opening);
      setView(opening);
    });
    return () => cancelAnimationFrame(frame);
  }, [positions, layoutState, flow]);

  return (
    <div className="graph" data-layout={layoutState} data-testid="workflow-graph" ref={container}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={NODE_TYPES}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        onlyRenderVisibleElements={large}
        minZoom={0.02}
        maxZoom={2}
        onNodeClick={(_event, node) => onSelect(node.id)}
        onPaneClick={() => onSelect(undefined)}
        onMove={large ? onMove : undefined}
        proOptions={{ hideAttribution: true }}
        aria-label="Workflow graph"
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        {large ? null : <MiniMap pannable zoomable ariaLabel="Overview of the graph" />}
      </ReactFlow>
      {positions.size === 0 && nodes.size > 0 ? (
        <p className="note" role="status">
          Laying out {nodes.size} nodes…
        </p>
      ) : null}
      {layoutState === 'failed' ? (
        <p className="note">The automatic layout failed; nodes are placed by depth.</p>
      ) : null}
    </div>
  );
}

import { useCallback, useState } from 'react';
import { WorkflowGraph } from '../graph/workflow-graph.tsx';
import type { GraphNode } from '../model/graph.ts';
import type { SessionModel } from '../model/session.ts';
import { preview, statusLabel } from '../ui/format.ts';
import { StatusBadge } from '../ui/status.tsx';

/** The graph, the selected node's details beside it, and the nodes as a list (for the keyboard and screen readers). */
export function GraphPanel({
  model,
  tick,
  onOpenAgent,
}: {
  readonly model: SessionModel;
  readonly tick: number;
  readonly onOpenAgent: (agentId: string) => void;
}) {
  const [selected, setSelected] = useState<string | undefined>();
  const node = selected ? model.nodes.get(selected) : undefined;
  const addedLabel = useCallback(
    (n: GraphNode) => {
      if (!n.added) return undefined;
      const agentId = /^agent:(.+)$/.exec(n.added.by)?.[1];
      const agent = agentId ? model.agents.get(agentId) : undefined;
      if (agent) return `${agent.agentType} (${agent.nodeId ?? agent.agentId})`;
      return n.added.agentType ? `${n.added.agentType} (${n.added.by})` : n.added.by;
    },
    [model],
  );
  const added = [...model.nodes.values()].filter((n) => n.added);
  return (
    <div className="graph-panel" data-tick={tick}>
      <div className="graph-area">
        <WorkflowGraph
          nodes={model.nodes}
          graphRev={model.rev.graph}
          nodesRev={model.rev.nodes}
          selected={selected}
          onSelect={setSelected}
          addedLabel={addedLabel}
        />
        <ul className="legend" aria-label="Legend">
          {[
            'pending',
            'queued',
            'running',
            'awaiting_input',
            'retry_wait',
            'completed',
            'failed',
            'skipped',
            'cancelled',
          ].map((s) => (
            <li key={s}>
              <span className={`swatch status-${s}`} aria-hidden="true" /> {statusLabel(s)}
            </li>
          ))}
          <li>
            <span className="swatch added" aria-hidden="true" /> added at run time
          </li>
        </ul>
      </div>
      <aside className="node-details" aria-label="Node details" aria-live="polite">
        {node ? (
          <NodeDetails node={node} model={model} addedBy={addedLabel(node)} onOpenAgent={onOpenAgent} />
        ) : (
          <p className="muted">Select a node (click it, or pick it in the list below) to see its details.</p>
        )}
        {added.length > 0 ? (
          <div className="added-list">
            <h3>Added at run time</h3>
            <ul>
              {added.map((n) => (
                <li key={n.id}>
                  <button type="button" className="link" onClick={() => setSelected(n.id)}>
                    {n.id}
                  </button>{' '}
                  by {addedLabel(n)}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </aside>
      <NodeList model={model} onSelect={setSelected} />
    </div>
  );
}

/**
 * The nodes as a table, for the keyboard and screen readers: drawn only while open (a closed
 * `<details>` still holds its rows), a page of 200 at a time.
 */
function NodeList({ model, onSelect }: { readonly model: SessionModel; readonly onSelect: (id: string) => void }) {
  const [open, setOpen] = useState(false);
  const [shown, setShown] = useState(200);
  const nodes = open ? [...model.nodes.values()].slice(0, shown) : [];
  return (
    <details className="node-list" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Nodes as a list ({model.nodes.size})</summary>
      {open ? (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Depends on</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <tr key={n.id}>
                  <td>
                    <button type="button" className="link" onClick={() => onSelect(n.id)}>
                      {n.id}
                    </button>
                    {n.added ? ' (added)' : ''}
                  </td>
                  <td>{n.kind === 'agent' ? (n.agentType ?? 'agent') : n.kind}</td>
                  <td>
                    <StatusBadge status={n.status} />
                  </td>
                  <td>{n.attempts}</td>
                  <td>{n.dependsOn.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {model.nodes.size > shown ? (
            <button type="button" onClick={() => setShown((n) => n + 200)}>
              Show 200 more
            </button>
          ) : null}
        </>
      ) : null}
    </details>
  );
}

function NodeDetails({
  node,
  model,
  addedBy,
  onOpenAgent,
}: {
  readonly node: GraphNode;
  readonly model: SessionModel;
  readonly addedBy: string | undefined;
  readonly onOpenAgent: (agentId: string) => void;
}) {
  const agents = [...model.agents.values()].filter((a) => a.nodeId === node.id);
  return (
    <div data-testid="node-details">
      <h3>
        {node.id} <StatusBadge status={node.status} />
      </h3>
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{node.kind === 'agent' ? `agent (${node.agentType ?? '?'})` : node.kind}</dd>
        {node.group ? (
          <>
            <dt>Group</dt>
            <dd>{node.group}</dd>
          </>
        ) : null}
        <dt>Attempts</dt>
        <dd>{node.attempts}</dd>
        {node.dependsOn.length > 0 ? (
          <>
            <dt>Depends on</dt>
            <dd>{node.dependsOn.join(', ')}</dd>
          </>
        ) : null}
        {node.condition ? (
          <>
            <dt>Condition</dt>
            <dd className="mono">{node.condition}</dd>
          </>
        ) : null}
        {node.added ? (
          <>
            <dt>Added at run time by</dt>
            <dd>{addedBy}</dd>
          </>
        ) : null}
        {node.reason ? (
          <>
            <dt>Reason</dt>
            <dd>{node.reason}</dd>
          </>
        ) : null}
        {node.error ? (
          <>
            <dt>Error</dt>
            <dd className="error-text">
              {node.error.code}: {node.error.message}
            </dd>
          </>
        ) : null}
      </dl>
      {node.text ? <pre className="task">{preview(node.text, 1200)}</pre> : null}
      {agents.length > 0 ? (
        <>
          <h4>Agents</h4>
          <ul>
            {agents.map((a) => (
              <li key={a.agentId}>
                <button type="button" className="link" onClick={() => onOpenAgent(a.agentId)}>
                  {a.agentType} · attempt {a.attempt ?? '?'} · {a.state}
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

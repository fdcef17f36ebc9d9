import { useEffect, useLayoutEffect, useRef } from 'react';
import type { SessionModel } from '../model/session.ts';
import type { AgentView, TranscriptEntry } from '../model/transcript.ts';
import { formatCost, formatTokens, preview } from '../ui/format.ts';

/**
 * Each agent's transcript, streaming: the agents on the left (by node and attempt), the chosen
 * one's messages, tool calls with their inputs, results and security decisions, retries,
 * structured output and errors on the right. Stays at the bottom while new entries arrive
 * unless the reader scrolled up.
 */
export function TranscriptsPanel({
  model,
  tick,
  selected,
  onSelect,
}: {
  readonly model: SessionModel;
  readonly tick: number;
  readonly selected: string | undefined;
  readonly onSelect: (agentId: string) => void;
}) {
  const agents = [...model.agents.values()];
  const agent = (selected && model.agents.get(selected)) || agents.at(-1);
  if (!agent) return <p className="muted">No agent has started yet.</p>;
  return (
    <div className="transcripts" data-tick={tick}>
      <nav aria-label="Agents" className="agent-list">
        <ul>
          {agents.map((a) => (
            <li key={a.agentId}>
              <button
                type="button"
                className={a.agentId === agent.agentId ? 'agent current' : 'agent'}
                aria-current={a.agentId === agent.agentId ? 'true' : undefined}
                onClick={() => onSelect(a.agentId)}
                data-agent={a.agentId}
              >
                <span className="agent-name">
                  {a.nodeId ?? '—'} <small>({a.agentType})</small>
                </span>
                <span className="agent-meta">
                  attempt {a.attempt ?? '?'} · {a.state}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <Transcript agent={agent} rev={agent.rev} />
    </div>
  );
}

function Transcript({ agent, rev }: { readonly agent: AgentView; readonly rev: number }) {
  const box = useRef<HTMLOListElement>(null);
  const stick = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: another agent starts at its bottom
  useEffect(() => {
    stick.current = true;
  }, [agent.agentId]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: rev means new entries
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [rev]);
  return (
    <article className="transcript" aria-labelledby="transcript-title" data-testid="transcript">
      <header>
        <h2 id="transcript-title">
          {agent.agentType} on {agent.nodeId ?? '—'}
          <small className="mono"> {agent.agentId}</small>
        </h2>
        <p className="muted">
          {agent.model ?? 'model ?'} · {agent.state} · {formatTokens(agent.inputTokens)} in /{' '}
          {formatTokens(agent.outputTokens)} out · {formatCost(agent.costUsd)} · {agent.toolCalls} tool calls
        </p>
        {agent.task ? (
          <details>
            <summary>Task</summary>
            <pre>{agent.task}</pre>
          </details>
        ) : null}
      </header>
      <ol
        ref={box}
        className="entries"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling log must be reachable by keyboard
        tabIndex={0}
        aria-label="Transcript"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {agent.entries.map((entry) => (
          <li key={`${entry.seq}-${entry.kind}`} className={`entry entry-${entry.kind}`}>
            <Entry entry={entry} />
          </li>
        ))}
        {agent.entries.length === 0 ? <li className="muted">Nothing yet.</li> : null}
      </ol>
    </article>
  );
}

function Entry({ entry }: { readonly entry: TranscriptEntry }) {
  switch (entry.kind) {
    case 'text':
      return (
        <>
          <span className="entry-kind">{entry.subagentId ? `subagent ${entry.subagentId}` : 'says'}</span>
          <p className="text">{entry.text}</p>
        </>
      );
    case 'tool': {
      const denied = entry.decisions.find((d) => d.decision === 'deny');
      return (
        <details open={denied !== undefined || entry.result?.isError === true}>
          <summary>
            <span className="entry-kind">tool</span> <strong>{entry.tool}</strong>
            {denied ? <span className="badge status-failed">denied</span> : null}
            {entry.result?.isError ? <span className="badge status-failed">error</span> : null}
            {entry.result === undefined && !denied ? <span className="badge status-running">running</span> : null}
          </summary>
          <h4>Input</h4>
          <pre>{preview(entry.input, 4000)}</pre>
          {entry.decisions.map((d, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: decisions of a call only grow
            <p key={i} className={d.decision === 'deny' ? 'error-text' : 'muted'}>
              {d.decision} by {d.by}
              {d.rule ? ` (${d.rule})` : ''}: {d.reason}
            </p>
          ))}
          {entry.result ? (
            <>
              <h4>Result</h4>
              <pre className={entry.result.isError ? 'error-text' : undefined}>
                {preview(entry.result.content, 4000)}
              </pre>
            </>
          ) : null}
        </details>
      );
    }
    case 'decision':
      return (
        <p className={entry.decision.decision === 'deny' ? 'error-text' : 'muted'}>
          <span className="entry-kind">security</span> {entry.tool}: {entry.decision.decision} by {entry.decision.by}
          {entry.decision.rule ? ` (${entry.decision.rule})` : ''} — {entry.decision.reason}
        </p>
      );
    case 'retry':
      return (
        <p className="warn-text">
          <span className="entry-kind">retry</span> by {entry.by}, attempt {entry.attempt} in {entry.delayMs} ms:{' '}
          {entry.reason}
        </p>
      );
    case 'output':
      return (
        <>
          <span className="entry-kind">output</span>
          <pre className="output">{preview(entry.output, 8000)}</pre>
        </>
      );
    case 'error':
      return (
        <p className="error-text">
          <span className="entry-kind">failed</span> {entry.error.code}: {entry.error.message}
          {entry.willRetry ? ' (will retry)' : ''}
        </p>
      );
    case 'question':
      return (
        <p>
          <span className="entry-kind">asks a human</span> {entry.prompt}
        </p>
      );
  }
}

import { type KeyboardEvent, useCallback, useRef, useState } from 'react';
import { ScopedButton, useAuth } from '../auth.tsx';
import { listHref, replaceHash, sessionHref } from '../router.ts';
import { formatCost, formatDuration, formatTokens } from '../ui/format.ts';
import { StatusBadge } from '../ui/status.tsx';
import { AuditPanel } from './audit.tsx';
import { FiguresPanel } from './figures.tsx';
import { GraphPanel } from './graph-panel.tsx';
import { QuestionsPanel } from './questions.tsx';
import { TimelinePanel } from './timeline.tsx';
import { TranscriptsPanel } from './transcripts.tsx';
import { useSessionModel, useSessionView } from './use-session.ts';
import { VersionsPanel } from './versions.tsx';

const TABS = [
  ['graph', 'Graph'],
  ['timeline', 'Timeline'],
  ['agents', 'Agents'],
  ['figures', 'Figures'],
  ['questions', 'Questions'],
  ['versions', 'Versions'],
  ['audit', 'Audit'],
] as const;

type Tab = (typeof TABS)[number][0];

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** One session: its header with the steering buttons, its open questions, and a tab per view. */
export function SessionPage({ sessionId, query }: { readonly sessionId: string; readonly query: URLSearchParams }) {
  const { api } = useAuth();
  const { model, tick, stream, streamError } = useSessionModel(sessionId);
  const status = model.status();
  const ended = ENDED.has(status);
  const { view, refresh } = useSessionView(sessionId, !ended);
  const tab = (TABS.some(([id]) => id === query.get('tab')) ? query.get('tab') : 'graph') as Tab;
  const [busy, setBusy] = useState<string | undefined>();
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();
  const tabRefs = useRef(new Map<Tab, HTMLButtonElement>());

  const setTab = (next: Tab, params: Record<string, string> = {}) =>
    replaceHash(sessionHref(sessionId, { tab: next, ...params }));

  const act = useCallback(
    async (name: string, action: () => Promise<unknown>, done: string) => {
      setBusy(name);
      setNotice(undefined);
      try {
        await action();
        setNotice({ kind: 'ok', text: done });
        refresh();
      } catch (e) {
        setNotice({ kind: 'error', text: (e as Error).message });
      } finally {
        setBusy(undefined);
      }
    },
    [refresh],
  );

  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  const onTabKey = (event: KeyboardEvent) => {
    const index = TABS.findIndex(([id]) => id === tab);
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0 && event.key !== 'Home' && event.key !== 'End') return;
    event.preventDefault();
    const nextIndex =
      event.key === 'Home' ? 0 : event.key === 'End' ? TABS.length - 1 : (index + step + TABS.length) % TABS.length;
    const next = TABS[nextIndex]?.[0] ?? 'graph';
    setTab(next);
    tabRefs.current.get(next)?.focus();
  };

  const open = model.openQuestions();
  const elapsed =
    model.firstTs !== undefined
      ? (ended ? (model.lastTs ?? model.firstTs) : Math.max(Date.now(), model.lastTs ?? 0)) - model.firstTs
      : undefined;
  const paused = status === 'paused';
  // The server's figures (priced by its table) once it has answered; the events' until then.
  const figures = view?.report?.metrics?.session;

  return (
    <section className="page session" aria-labelledby="session-title" data-status={status} data-tick={tick}>
      <nav aria-label="Breadcrumb" className="crumbs">
        <a href={listHref()}>Sessions</a> / <span className="mono">{sessionId}</span>
      </nav>
      <div className="page-head">
        <h1 id="session-title">{model.workflow?.name ?? model.name ?? view?.workflow ?? 'Session'}</h1>
        <StatusBadge status={status} />
        <span className={`live live-${stream}`} role="status" aria-live="polite" data-testid="stream-state">
          {stream === 'open' ? 'live' : stream === 'closed' ? 'stream closed' : 'connecting…'}
        </span>
        <div className="actions">
          {paused || view?.resumable ? (
            <ScopedButton
              scope="run"
              busy={busy !== undefined || ended}
              testId="resume"
              onClick={() =>
                void act(
                  'resume',
                  () => api.resume(sessionId),
                  paused ? 'Resume requested.' : 'This server carries the session on from its log.',
                )
              }
            >
              Resume
            </ScopedButton>
          ) : (
            <ScopedButton
              scope="run"
              busy={busy !== undefined || ended}
              testId="pause"
              onClick={() =>
                void act('pause', () => api.pause(sessionId, 'paused from the dashboard'), 'Pause requested.')
              }
            >
              Pause
            </ScopedButton>
          )}
          <ScopedButton
            scope="run"
            className="danger"
            busy={busy !== undefined || ended}
            testId="cancel"
            onClick={() => {
              if (window.confirm('Cancel this session? Its agents stop and nothing more starts.')) {
                void act('cancel', () => api.cancel(sessionId, 'cancelled from the dashboard'), 'Cancel requested.');
              }
            }}
          >
            Cancel
          </ScopedButton>
        </div>
      </div>
      <dl className="summary">
        <div>
          <dt>Cost</dt>
          <dd data-testid="session-cost">{formatCost(figures?.costUsd ?? model.totalCostUsd)}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd>{formatTokens(figures ? figures.inputTokens + figures.outputTokens : model.totalTokens)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(elapsed)}</dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd>
            {[...model.nodes.values()].filter((n) => n.status === 'completed').length} / {model.nodes.size} completed
          </dd>
        </div>
        <div>
          <dt>Agents</dt>
          <dd>{model.agents.size}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>
            {view?.owner ? `${view.owner.host} pid ${view.owner.pid}${view.owner.here ? ' (this server)' : ''}` : '—'}
          </dd>
        </div>
      </dl>
      {notice ? (
        <p className={notice.kind === 'error' ? 'error' : 'ok'} role={notice.kind === 'error' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      ) : null}
      {streamError ? (
        <p className="error" role="alert">
          Event stream: {streamError}
        </p>
      ) : null}
      {open.length > 0 && tab !== 'questions' ? (
        <QuestionsPanel model={model} sessionId={sessionId} compact onAnswered={refresh} />
      ) : null}
      <div role="tablist" aria-label="Views of the session" className="tabs" onKeyDown={onTabKey}>
        {TABS.map(([id, label]) => (
          <button
            key={id}
            ref={(el) => {
              if (el) tabRefs.current.set(id, el);
            }}
            type="button"
            role="tab"
            id={`tab-${id}`}
            aria-selected={tab === id}
            aria-controls={`panel-${id}`}
            tabIndex={tab === id ? 0 : -1}
            onClick={() => setTab(id)}
          >
            {label}
            {id === 'questions' && open.length > 0 ? <span className="count">{open.length}</span> : null}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="panel" tabIndex={-1}>
        {tab === 'graph' ? (
          <GraphPanel model={model} tick={tick} onOpenAgent={(agentId) => setTab('agents', { agent: agentId })} />
        ) : null}
        {tab === 'timeline' ? <TimelinePanel model={model} tick={tick} ended={ended} /> : null}
        {tab === 'agents' ? (
          <TranscriptsPanel
            model={model}
            tick={tick}
            selected={query.get('agent') ?? undefined}
            onSelect={(agentId) => setTab('agents', { agent: agentId })}
          />
        ) : null}
        {tab === 'figures' ? (
          <FiguresPanel model={model} tick={tick} report={view?.report} limits={view?.budgets} />
        ) : null}
        {tab === 'questions' ? <QuestionsPanel model={model} sessionId={sessionId} onAnswered={refresh} /> : null}
        {tab === 'versions' ? <VersionsPanel sessionId={sessionId} versionsRev={model.rev.versions} /> : null}
        {tab === 'audit' ? <AuditPanel model={model} tick={tick} /> : null}
      </div>
    </section>
  );
}

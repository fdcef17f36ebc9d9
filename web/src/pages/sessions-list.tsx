import { useCallback, useEffect, useRef, useState } from 'react';
import { SUMMARIES_PATH } from '../api/routes.ts';
import { followStream, type StreamState } from '../api/stream.ts';
import { SESSION_STATUSES, type SessionListRow, type SessionStatus } from '../api/types.ts';
import { ScopedButton, useAuth } from '../auth.tsx';
import { durationOf, mergeRows, PAGE_SIZE } from '../model/rows.ts';
import { listHref, replaceHash, sessionHref } from '../router.ts';
import { formatCost, formatDuration, formatTime, formatTokens, statusLabel } from '../ui/format.ts';
import { StatusBadge } from '../ui/status.tsx';
import { StartWorkflow } from './start-workflow.tsx';

/**
 * The sessions, newest first: filters by status and workflow and a search over session ids and
 * workflow names (all the server's, `GET /v1/sessions?status=&workflow=&q=`), cursor paging (so tens of thousands of sessions cost one page at a time), and
 * live updates from the summaries stream: rows change as their sessions do, and a new session
 * appears at the top of the first page.
 */

export function SessionsList({ query }: { readonly query: URLSearchParams }) {
  const { api, client } = useAuth();
  const status = (query.get('status') ?? '') as SessionStatus | '';
  const workflow = query.get('workflow') ?? '';
  const search = query.get('q') ?? '';
  // What is typed in the search box; the URL (and the server's search) follows after a pause.
  const [typed, setTyped] = useState(search);
  // The URL may change otherwise (back, a link): the box shows its search.
  useEffect(() => setTyped(search), [search]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const [rows, setRows] = useState<SessionListRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState<StreamState>('connecting');
  const [starting, setStarting] = useState(false);
  const [announce, setAnnounce] = useState('');

  const setFilter = (name: string, value: string) => {
    const next = Object.fromEntries(query.entries());
    next[name] = value;
    setCursors([undefined]);
    replaceHash(listHref(next));
  };

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const page = await api.listSessions({
        limit: PAGE_SIZE,
        cursor,
        status: status || undefined,
        workflow: workflow || undefined,
        q: search.trim() || undefined,
      });
      setRows(page.sessions);
      setNext(page.nextCursor);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, [api, cursor, status, workflow, search]);

  // Typing searches a quarter of a second after the last key, not at every key.
  // biome-ignore lint/correctness/useExhaustiveDependencies: setFilter reads the current query
  useEffect(() => {
    if (typed === search) return;
    const timer = setTimeout(() => setFilter('q', typed), 250);
    return () => clearTimeout(timer);
  }, [typed]);

  useEffect(() => {
    void load();
  }, [load]);

  // Live: every session's summary as it changes. Rows of this page are updated in place; a
  // session not on it appears at the top of the first page when it matches the filters.
  const filters = useRef({ status, workflow, q: search, firstPage: cursor === undefined });
  filters.current = { status, workflow, q: search, firstPage: cursor === undefined };
  useEffect(() => {
    const stream = followStream({
      url: client.url(SUMMARIES_PATH),
      key: () => client.key(),
      onState: (s) => setLive(s),
      onMessages: (messages) => {
        const updates: SessionListRow[] = [];
        for (const message of messages) {
          try {
            const row = JSON.parse(message.data) as SessionListRow;
            if (row && typeof row.sessionId === 'string') updates.push(row);
          } catch {
            // Heartbeats and notices carry no row.
          }
        }
        if (updates.length === 0) return;
        setRows((current) => mergeRows(current, updates, filters.current));
      },
    });
    return () => stream.close();
  }, [client]);

  const shown = rows;

  useEffect(() => {
    if (!loading) setAnnounce(`${shown.length} session${shown.length === 1 ? '' : 's'} shown`);
  }, [loading, shown.length]);

  return (
    <section aria-labelledby="sessions-title" className="page">
      <div className="page-head">
        <h1 id="sessions-title">Sessions</h1>
        <span className={`live live-${live}`} role="status" aria-live="polite">
          {live === 'open' ? 'live' : live === 'closed' ? 'not live' : 'connecting…'}
        </span>
        <ScopedButton scope="run" onClick={() => setStarting(true)} className="primary" testId="start-workflow">
          Start a workflow
        </ScopedButton>
      </div>
      {starting ? <StartWorkflow onClose={() => setStarting(false)} /> : null}
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {SESSION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-workflow">Workflow</label>
          <input
            id="filter-workflow"
            value={workflow}
            placeholder="name"
            onChange={(e) => setFilter('workflow', e.target.value)}
          />
        </div>
        <div className="field grow">
          <label htmlFor="filter-search">Search</label>
          <input
            id="filter-search"
            type="search"
            value={typed}
            placeholder="session id or workflow name"
            maxLength={200}
            onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') setFilter('q', typed);
            }}
          />
        </div>
      </form>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <p className="sr-only" aria-live="polite">
        {announce}
      </p>
      <div className="table-wrap">
        <table className="sessions" aria-busy={loading} data-testid="sessions-table">
          <caption className="sr-only">Sessions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Session</th>
              <th scope="col">Workflow</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Cost
              </th>
              <th scope="col" className="num">
                Tokens
              </th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Started</th>
              <th scope="col" className="num">
                Questions
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <tr key={row.sessionId} data-session={row.sessionId} data-status={row.status}>
                <td>
                  <a href={sessionHref(row.sessionId)} className="mono">
                    {row.sessionId}
                  </a>
                </td>
                <td>{row.workflow ?? '—'}</td>
                <td>
                  <StatusBadge status={row.status ?? 'unreadable'} />
                  {row.owner ? (
                    <span className="sr-only">
                      {' '}
                      (run by {row.owner.host} pid {row.owner.pid})
                    </span>
                  ) : null}
                </td>
                <td className="num">
                  {formatCost(row.costUsd)}
                  {row.simulated ? (
                    <small className="muted" title="Priced as if the scripted model's answers had been real">
                      {' '}
                      simulated
                    </small>
                  ) : null}
                </td>
                <td className="num">{formatTokens(row.tokens)}</td>
                <td className="num">{formatDuration(durationOf(row))}</td>
                <td>{formatTime(row.createdAt)}</td>
                <td className="num">{row.openQuestions > 0 ? row.openQuestions : ''}</td>
              </tr>
            ))}
            {!loading && shown.length === 0 ? (
              <tr>
                <td colSpan={8} className="empty">
                  No sessions{status || workflow || search ? ' match these filters' : ' yet'}.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={next === null} onClick={() => next && setCursors((c) => [...c, next])}>
          Older →
        </button>
      </nav>
    </section>
  );
}

import { useEffect, useState } from 'react';
import type { StatsReport, StatsRow } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { listHref, replaceHash } from '../router.ts';
import { Bars } from '../ui/charts.tsx';
import { formatCost, formatDuration, formatPercent, formatTokens } from '../ui/format.ts';

/**
 * Cost, tokens, success and time by workflow, by agent type and by day: the statistics the
 * server computes with the same projections as `orchestrator stats`.
 */

const GROUPINGS = [
  ['workflow', 'By workflow'],
  ['agent-type', 'By agent type'],
  ['day', 'Over time (by day)'],
] as const;

type Grouping = (typeof GROUPINGS)[number][0];

export function Analytics({ query }: { readonly query: URLSearchParams }) {
  const { api } = useAuth();
  const by = (GROUPINGS.some(([g]) => g === query.get('by')) ? query.get('by') : 'workflow') as Grouping;
  const [report, setReport] = useState<StatsReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let current = true;
    setLoading(true);
    api
      .stats(by)
      .then((r) => {
        if (!current) return;
        setReport(r);
        setError(undefined);
      })
      .catch((e: Error) => current && setError(e.message))
      .finally(() => current && setLoading(false));
    return () => {
      current = false;
    };
  }, [api, by]);

  const rows = report?.rows ?? [];
  const ordered = by === 'day' ? [...rows].sort((a, b) => a.key.localeCompare(b.key)) : rows;
  return (
    <section className="page" aria-labelledby="analytics-title">
      <div className="page-head">
        <h1 id="analytics-title">Analytics</h1>
        <fieldset className="segmented">
          <legend className="sr-only">Group by</legend>
          {GROUPINGS.map(([id, label]) => (
            <button key={id} type="button" aria-pressed={by === id} onClick={() => replaceHash(`#/analytics?by=${id}`)}>
              {label}
            </button>
          ))}
        </fieldset>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {report ? (
        <>
          <dl className="cards">
            <div className="card">
              <dt>Cost</dt>
              <dd>{formatCost(report.total.costUsd)}</dd>
            </div>
            <div className="card">
              <dt>Tokens</dt>
              <dd>{formatTokens(tokensOf(report.total))}</dd>
            </div>
            <div className="card">
              <dt>Sessions</dt>
              <dd>{report.total.sessions}</dd>
            </div>
            <div className="card">
              <dt>Agent attempts</dt>
              <dd>{report.total.agents}</dd>
            </div>
            <div className="card">
              <dt>Attempts that succeeded</dt>
              <dd>{formatPercent(successOf(report.total))}</dd>
            </div>
          </dl>
          <div className="chart-grid">
            <Bars
              title={`Cost ${labelOf(by)}`}
              items={ordered.map((r) => ({ label: r.key, value: r.costUsd }))}
              format={formatCost}
              limit={by === 'day' ? 31 : 12}
            />
            <Bars
              title={`Tokens ${labelOf(by)}`}
              items={ordered.map((r) => ({ label: r.key, value: tokensOf(r) }))}
              format={formatTokens}
              limit={by === 'day' ? 31 : 12}
            />
          </div>
          <div className="table-wrap">
            <table aria-busy={loading} data-testid="stats-table">
              <caption>Statistics {labelOf(by)}</caption>
              <thead>
                <tr>
                  <th scope="col">{by === 'day' ? 'Day' : by === 'workflow' ? 'Workflow' : 'Agent type'}</th>
                  <th scope="col" className="num">
                    Sessions
                  </th>
                  <th scope="col" className="num">
                    Cost
                  </th>
                  <th scope="col" className="num">
                    Tokens in / out
                  </th>
                  <th scope="col" className="num">
                    Attempts
                  </th>
                  <th scope="col" className="num">
                    Succeeded
                  </th>
                  <th scope="col" className="num">
                    Mean agent time
                  </th>
                  <th scope="col" className="num">
                    Tool calls
                  </th>
                </tr>
              </thead>
              <tbody>
                {ordered.map((r) => (
                  <tr key={r.key}>
                    <th scope="row">
                      {by === 'workflow' ? <a href={listHref({ workflow: r.key })}>{r.key}</a> : r.key}
                    </th>
                    <td className="num">{r.sessions}</td>
                    <td className="num">{formatCost(r.costUsd)}</td>
                    <td className="num">
                      {formatTokens(r.inputTokens)} / {formatTokens(r.outputTokens)}
                    </td>
                    <td className="num">{r.agents}</td>
                    <td className="num">{formatPercent(successOf(r))}</td>
                    <td className="num">{formatDuration(meanAgentTime(r))}</td>
                    <td className="num">{r.toolCalls}</td>
                  </tr>
                ))}
                {ordered.length === 0 ? (
                  <tr>
                    <td colSpan={8} className="empty">
                      No sessions yet.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
        </>
      ) : loading ? (
        <p className="muted">Loading…</p>
      ) : null}
    </section>
  );
}

function labelOf(by: Grouping): string {
  return by === 'day' ? 'by day' : by === 'workflow' ? 'by workflow' : 'by agent type';
}

function tokensOf(row: StatsRow): number {
  return row.inputTokens + row.outputTokens + row.cacheReadTokens + row.cacheCreationTokens;
}

/** Share of agent attempts that did not fail. */
function successOf(row: StatsRow): number | undefined {
  return row.agents > 0 ? Math.max(0, 1 - row.errors / row.agents) : undefined;
}

function meanAgentTime(row: StatsRow): number | undefined {
  const timing = row.agentTime as { count?: number; totalMs?: number } | undefined;
  return timing?.count ? (timing.totalMs ?? 0) / timing.count : undefined;
}

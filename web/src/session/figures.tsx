import { useMemo } from 'react';
import type { BudgetLine, SessionView } from '../api/types.ts';
import type { SessionModel } from '../model/session.ts';
import { Bars, LineChart } from '../ui/charts.tsx';
import { formatCost, formatDuration, formatTime, formatTokens } from '../ui/format.ts';

/**
 * The session's figures: spend and tokens over time, per agent and per node, response
 * latency, tool calls, errors, alerts (raised and cleared), and the budgets in force with how
 * much is left and those reached. The live figures come from the events; the totals and the
 * budgets from the server's view (the monitor's projection, priced by its table) once it has
 * answered.
 */
export function FiguresPanel({
  model,
  tick,
  report,
  limits,
}: {
  readonly model: SessionModel;
  readonly tick: number;
  readonly report: SessionView['report'] | undefined;
  /** Every limit in force, with what was spent and what is left (`GET /v1/sessions/:id`'s `budgets`). */
  readonly limits: readonly BudgetLine[] | undefined;
}) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick stands for the model's figures
  const figures = useMemo(() => {
    const agents = [...model.agents.values()];
    const byNode = new Map<string, { cost: number; tokens: number }>();
    for (const a of agents) {
      const key = a.nodeId ?? a.agentId;
      const entry = byNode.get(key) ?? { cost: 0, tokens: 0 };
      entry.cost += a.costUsd;
      entry.tokens += a.inputTokens + a.outputTokens;
      byNode.set(key, entry);
    }
    const latency = agents.flatMap((a) => a.latencies.map((l) => l.durationMs)).sort((x, y) => x - y);
    const ttft = agents
      .flatMap((a) => a.latencies.map((l) => l.ttftMs))
      .filter((v): v is number => v !== undefined)
      .sort((x, y) => x - y);
    return {
      agents,
      byNode,
      latency: { p50: quantile(latency, 0.5), p95: quantile(latency, 0.95), n: latency.length },
      ttft: { p50: quantile(ttft, 0.5), p95: quantile(ttft, 0.95) },
      turns: agents.reduce((s, a) => s + a.turns, 0),
      toolCalls: [...model.toolCalls.values()].reduce((s, n) => s + n, 0),
      errors: [...model.errors.values()].reduce((s, n) => s + n, 0),
    };
  }, [model, tick]);
  const budgets = report?.metrics?.budgets ?? [];
  const server = report?.metrics?.session;
  const alerts = [...model.alerts.values()];

  return (
    <div className="figures" data-tick={tick}>
      <dl className="cards">
        <Card label="Cost" value={formatCost(server?.costUsd ?? model.totalCostUsd)} />
        <Card
          label="Tokens in / out"
          value={
            server
              ? `${formatTokens(server.inputTokens)} / ${formatTokens(server.outputTokens)}`
              : formatTokens(model.totalTokens)
          }
        />
        {server ? <Card label="Cache reads" value={formatTokens(server.cacheReadTokens)} /> : null}
        <Card label="Model responses" value={String(figures.turns)} />
        <Card label="Tool calls" value={String(figures.toolCalls)} />
        <Card label="Errors" value={String(figures.errors)} />
        <Card
          label="Response time p50 / p95"
          value={`${formatDuration(figures.latency.p50)} / ${formatDuration(figures.latency.p95)}`}
        />
        <Card label="First token p50" value={formatDuration(figures.ttft.p50)} />
      </dl>
      <div className="chart-grid">
        <LineChart
          title="Cost over time"
          points={model.series.map((p) => ({ t: p.t, v: p.costUsd }))}
          format={formatCost}
        />
        <LineChart
          title="Tokens over time"
          points={model.series.map((p) => ({ t: p.t, v: p.tokens }))}
          format={formatTokens}
        />
        <Bars
          title="Cost by agent"
          items={figures.agents.map((a) => ({
            id: a.agentId,
            label: `${a.nodeId ?? '—'} (${a.agentType}, #${a.attempt ?? '?'})`,
            value: a.costUsd,
            note: `${formatTokens(a.inputTokens + a.outputTokens)} tok`,
          }))}
          format={formatCost}
        />
        <Bars
          title="Tokens by node"
          items={[...figures.byNode].map(([label, v]) => ({ label, value: v.tokens, note: formatCost(v.cost) }))}
          format={formatTokens}
        />
        <Bars
          title="Response time by agent (median)"
          items={figures.agents
            .filter((a) => a.latencies.length > 0)
            .map((a) => ({
              id: a.agentId,
              label: `${a.nodeId ?? a.agentId} (${a.agentType}, #${a.attempt ?? '?'})`,
              value:
                quantile(
                  a.latencies.map((l) => l.durationMs).sort((x, y) => x - y),
                  0.5,
                ) ?? 0,
            }))}
          format={(v) => formatDuration(v)}
        />
        <Bars
          title="Tool calls by tool"
          items={[...model.toolCalls].map(([label, value]) => ({ label, value }))}
          format={String}
        />
        <Bars
          title="Errors by kind"
          items={[...model.errors].map(([label, value]) => ({ label, value }))}
          format={String}
        />
      </div>
      <section aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        {alerts.length === 0 ? (
          <p className="muted">No alert was raised.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Severity</th>
                <th scope="col">State</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.key} className={a.state === 'raised' ? `alert-${a.severity}` : undefined}>
                  <td>{a.rule}</td>
                  <td>{a.severity}</td>
                  <td>{a.state}</td>
                  <td>{a.message}</td>
                  <td>{formatTime(a.ts)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="budgets-title">
        <h2 id="budgets-title">Budgets</h2>
        <BudgetLimits limits={limits} />
        {budgets.length === 0 && model.budgets.length === 0 ? <p className="muted">No budget was reached.</p> : null}
        {budgets.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Budget reached</th>
                <th scope="col" className="num">
                  Limit
                </th>
                <th scope="col" className="num">
                  Spent
                </th>
                <th scope="col">Then</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {budgets.map((b) => (
                <tr key={`${b.scope}:${b.key}:${b.at}`}>
                  <td>
                    {b.scope} {b.key}
                  </td>
                  <td className="num">{formatCost(b.limitUsd)}</td>
                  <td className="num">{formatCost(b.spentUsd)}</td>
                  <td>{b.action === 'pause' ? 'paused' : 'failed'}</td>
                  <td>{formatTime(b.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          model.budgets.map((b) => (
            <p key={`${b.scope}:${b.key}:${b.ts}`} className="error-text" role="status">
              Budget reached at {formatTime(b.ts)}: {b.scope} {b.key} spent {formatCost(b.spentUsd)} of{' '}
              {formatCost(b.limitUsd)} ({b.action}).
            </p>
          ))
        )}
      </section>
    </div>
  );
}

const SCOPE_NAMES: Readonly<Record<BudgetLine['scope'], string>> = {
  session: 'Session',
  workflow: 'Workflow run',
  agentType: 'Agent type',
  node: 'Node',
};

/** The limits in force: each with its limit, what was spent, what is left, and whether it is reached. */
function BudgetLimits({ limits }: { readonly limits: readonly BudgetLine[] | undefined }) {
  if (limits === undefined) return <p className="muted">Loading the limits…</p>;
  if (limits.length === 0) return <p className="muted">No budget applies to this session.</p>;
  return (
    <table data-testid="budget-limits">
      <caption className="sr-only">Budgets in force, with what was spent and what is left</caption>
      <thead>
        <tr>
          <th scope="col">Budget</th>
          <th scope="col" className="num">
            Limit
          </th>
          <th scope="col" className="num">
            Spent
          </th>
          <th scope="col" className="num">
            Left
          </th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {limits.map((b) => (
          <tr key={`${b.scope}:${b.key}`} data-budget={`${b.scope}:${b.nodeId ?? b.key}`}>
            <td>
              {SCOPE_NAMES[b.scope]} <span className="mono">{b.nodeId ?? b.key}</span>
            </td>
            <td className="num">{amounts(b.limitUsd, b.limitTokens)}</td>
            <td className="num">{amounts(b.spentUsd, b.spentTokens)}</td>
            <td className="num">{amounts(b.leftUsd, b.leftTokens)}</td>
            <td>{b.reached ? `reached: the work ${b.action === 'pause' ? 'pauses' : 'fails'}` : 'within'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Dollars and tokens of a budget line, whichever it has. */
function amounts(usd: number | undefined, tokens: number | undefined): string {
  const parts = [
    usd === undefined ? undefined : formatCost(usd),
    tokens === undefined ? undefined : `${formatTokens(tokens)} tokens`,
  ];
  return parts.filter(Boolean).join(' · ') || '—';
}

function Card({ label, value }: { readonly label: string; readonly value: string }) {
  return (
    <div className="card">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

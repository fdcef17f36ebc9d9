import { type Figures, meanMs, type StatsSummary } from '../monitor/index.ts';
import type { CostReport, OriginReport, SessionReport } from '../reports/index.ts';
import { formatTable, money } from './format.ts';

export { money };

/** A token count, in thousands above 1000. */
export function tokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n));
}

/** Milliseconds as seconds (or minutes above 100 s). */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms >= 100_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Bytes in MB. */
export function megabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MB`;
}

/** `Write 3, Read 1`: the largest counts first. */
function counts(byKey: Record<string, number>): string {
  const entries = Object.entries(byKey).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.map(([key, n]) => `${key} ${n}`).join(', ');
}

/** One line of tokens and cost: `87.2k in / 1.3k out tokens (10.1k cached), $0.3767`. */
export function spendLine(f: Figures): string {
  return `${tokens(f.inputTokens)} in / ${tokens(f.outputTokens)} out tokens (${tokens(f.cacheReadTokens)} cached), ${money(f.costUsd)}`;
}

/** The figures of a session, for `sessions show`: what the report says, in lines and a table of agents. */
export function formatSessionFigures(report: SessionReport): string {
  const m = report.metrics;
  const s = m.session;
  const lines: string[] = [];
  const line = (label: string, text: string) => lines.push(`  ${label.padEnd(11)}${text}`);
  line('status:', statusLine(report));
  if (report.origin) line('origin:', originLine(report.origin));
  if (report.downtimeMs > 0) {
    line('time:', `${duration(report.activeMs)} run, ${duration(report.downtimeMs)} with no process running it`);
  }
  for (const wf of Object.values(m.workflows)) {
    const status = wf.rolledBack ? `${wf.status} and ${rollbackText(wf.compensations)}` : wf.status;
    const took =
      wf.durationMs === undefined
        ? ''
        : ` in ${duration(wf.durationMs)}${wf.downtimeMs ? ` (and ${duration(wf.downtimeMs)} with no process running it)` : ''}`;
    line(
      'workflow:',
      `${wf.name} ${status}${took}, ${wf.stepsCompleted} steps completed${wf.failedNodes > 0 ? `, ${wf.failedNodes} failed` : ''}`,
    );
  }
  const spares = s.peakSpareRssBytes > 0 ? ` (${megabytes(s.peakSpareRssBytes)} of it warm spares)` : '';
  line(
    'agents:',
    `${s.agents} spawned, ${s.peakConcurrency} at most at once${s.peakProcessRssBytes > 0 ? `, largest process ${megabytes(s.peakProcessRssBytes)}, peak total ${megabytes(s.peakRssBytes)}${spares}` : ''}`,
  );
  line(
    'tokens:',
    `${tokens(s.inputTokens)} in, ${tokens(s.outputTokens)} out, ${tokens(s.cacheReadTokens)} cache read, ${tokens(s.cacheCreationTokens)} cache write; largest context ${tokens(s.maxContextTokens)}`,
  );
  line('cost:', costLine(report.cost));
  line(
    'turns:',
    `${s.turns} model responses; first token ${duration(meanMs(s.ttft))} avg, response ${duration(meanMs(s.turnTime))} avg (max ${duration(s.turnTime.maxMs)}); agents ${duration(meanMs(s.agentTime))} avg`,
  );
  line(
    'tools:',
    `${s.toolCalls} calls${s.toolCalls > 0 ? `: ${counts(s.toolCallsByTool)}` : ''}; ${s.toolErrors} errors`,
  );
  line('errors:', s.errors > 0 ? counts(s.errorsByKind) : 'none');
  const nodeInterruptions = Object.values(m.workflows).reduce(
    (sum, wf) => sum + Object.values(wf.nodes).reduce((n, node) => n + node.nodeInterruptions, 0),
    0,
  );
  line(
    'other:',
    `${s.retries} retries, ${s.interruptions} interruptions${nodeInterruptions > 0 ? ` (${nodeInterruptions} node attempts interrupted)` : ''}, ${s.humanInterventions} human inputs`,
  );
  const active = Object.values(m.activeAlerts);
  line(
    'alerts:',
    `${m.alertsRaised} raised${active.length > 0 ? `, open: ${active.map((a) => a.rule).join(', ')}` : ''}`,
  );
  if (m.budgets.length > 0) {
    for (const b of m.budgets) {
      const spent =
        b.limitTokens !== undefined
          ? `${b.spentTokens ?? 0} of ${b.limitTokens} tokens`
          : `${money(b.spentUsd ?? 0)} of ${money(b.limitUsd ?? 0)}`;
      line('budget:', `${b.scope} ${b.key} reached: ${spent} (${b.action})`);
    }
  }
  const agents = Object.values(m.agents);
  const table =
    agents.length === 0
      ? ''
      : `\n${formatTable(
          ['AGENT', 'TYPE', 'NODE', 'MODEL', 'TURNS', 'TOOLS', 'TOKENS IN/OUT', 'COST', 'TIME', 'OUTCOME'],
          agents.map((a) => [
            a.agentId,
            a.agentType,
            a.nodeId ?? '-',
            a.model ?? '-',
            String(a.turns),
            String(a.toolCalls),
            `${tokens(a.inputTokens)}/${tokens(a.outputTokens)}`,
            money(a.costUsd),
            duration(a.agentTime.totalMs || undefined),
            a.outcome ?? a.state,
          ]),
        )}`;
  return `${lines.join('\n')}\n${table}`;
}

/** How a rollback went: `rolled back (2 compensations)`, or which failed. */
function rollbackText(compensations: { ok: number; failed: number } | undefined): string {
  const { ok, failed } = compensations ?? { ok: 0, failed: 0 };
  if (failed > 0) return `rolled back in part (${failed} of ${ok + failed} compensations failed)`;
  return `rolled back (${ok} ${ok === 1 ? 'compensation' : 'compensations'})`;
}

/** What the session is doing, and what can be done about it. */
function statusLine(report: SessionReport): string {
  const owner = report.owner;
  switch (report.status) {
    case 'interrupted':
      return `interrupted: no process runs it (its last one ended without finishing it); carry on with: orchestrator sessions resume ${report.sessionId}`;
    case 'paused':
      return owner
        ? `paused (run by process ${owner.pid} on ${owner.host})`
        : `paused; carry on with: orchestrator sessions resume ${report.sessionId}`;
    default:
      return owner && report.resumable === false && !FINISHED.has(report.status)
        ? `${report.status} (run by process ${owner.pid} on ${owner.host} since ${owner.since})`
        : report.status;
  }
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'empty']);

/** Where a fork or an import came from, and what of it was inherited. */
function originLine(origin: OriginReport): string {
  const what = origin.kind === 'fork' ? 'forked from' : 'imported from';
  const where =
    origin.fromVersion !== undefined
      ? ` at version ${origin.fromVersion} (seq ${origin.fromSeq})`
      : origin.fromSeq !== undefined
        ? ` at seq ${origin.fromSeq}`
        : origin.fromStore !== undefined
          ? ` (a ${origin.fromStore} store)`
          : '';
  const inherited =
    origin.inheritedAgents === 0
      ? 'no agents inherited'
      : `${origin.inheritedAgents} agents and ${money(origin.inheritedCostUsd)} of spending inherited (made there, not here)`;
  return `${what} ${origin.fromSessionId}${where}; ${inherited}`;
}

/**
 * The one cost figure, and Claude Code's estimate beside it with the difference explained:
 * `$0.0593 (SDK estimate $0.0533; the difference: $0.0060 of 1 agent whose process died before
 * Claude Code reported it)`.
 */
export function costLine(cost: CostReport): string {
  const notes: string[] = [];
  if (Math.abs(cost.differenceUsd) >= 0.00005) {
    const parts: string[] = [];
    if (cost.unreportedUsd > 0) {
      parts.push(
        `${money(cost.unreportedUsd)} of ${cost.unreportedAgents} ${cost.unreportedAgents === 1 ? 'agent' : 'agents'} whose process died before Claude Code reported it`,
      );
    }
    if (Math.abs(cost.pricingUsd) >= 0.00005) {
      parts.push(
        `${money(cost.pricingUsd)} from pricing the same tokens with the price table instead of Claude Code's`,
      );
    }
    notes.push(`the difference: ${parts.join(', ')}`);
  }
  if (cost.unpricedUsd > 0) notes.push(`${money(cost.unpricedUsd)} of unknown models at the SDK's price`);
  if (cost.inheritedUsd > 0) notes.push(`${money(cost.inheritedUsd)} of it inherited`);
  return `${money(cost.costUsd)} (SDK estimate ${money(cost.sdkCostUsd)}${notes.length > 0 ? `; ${notes.join('; ')}` : ''})`;
}

/** The table of `orchestrator stats`. */
export function formatStats(summary: StatsSummary): string {
  const heading = summary.by === 'agent-type' ? 'AGENT TYPE' : summary.by === 'workflow' ? 'WORKFLOW' : 'DAY';
  const row = (r: StatsSummary['total']) => [
    r.key,
    String(r.sessions),
    String(r.agents),
    String(r.turns),
    String(r.toolCalls),
    tokens(r.inputTokens),
    tokens(r.outputTokens),
    tokens(r.cacheReadTokens),
    tokens(r.cacheCreationTokens),
    money(r.costUsd),
    money(r.sdkCostUsd),
    String(r.errors),
  ];
  return formatTable(
    [
      heading,
      'SESSIONS',
      'AGENTS',
      'TURNS',
      'TOOLS',
      'IN',
      'OUT',
      'CACHE READ',
      'CACHE WRITE',
      'COST',
      'SDK COST',
      'ERRORS',
    ],
    [...summary.rows.map(row), row({ ...summary.total, key: 'TOTAL' })],
  );
}

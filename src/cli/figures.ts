import { type Figures, type MetricsState, meanMs, type StatsSummary } from '../monitor/index.ts';
import { formatTable } from './format.ts';

/** Dollars with four decimals under $1, two above. */
export function money(usd: number): string {
  return `$${usd.toFixed(Math.abs(usd) < 1 ? 4 : 2)}`;
}

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

/** The figures of a session, for `sessions show`. */
export function formatSessionFigures(m: MetricsState): string {
  const s = m.session;
  const lines: string[] = [];
  const line = (label: string, text: string) => lines.push(`  ${label.padEnd(11)}${text}`);
  for (const wf of Object.values(m.workflows)) {
    line(
      'workflow:',
      `${wf.name} ${wf.status}${wf.durationMs === undefined ? '' : ` in ${duration(wf.durationMs)}`}, ${wf.stepsCompleted} steps completed${wf.failedNodes > 0 ? `, ${wf.failedNodes} failed` : ''}`,
    );
  }
  line(
    'agents:',
    `${s.agents} spawned, ${s.peakConcurrency} at most at once${s.peakProcessRssBytes > 0 ? `, largest process ${megabytes(s.peakProcessRssBytes)}, peak total ${megabytes(s.peakRssBytes)}` : ''}`,
  );
  line(
    'tokens:',
    `${tokens(s.inputTokens)} in, ${tokens(s.outputTokens)} out, ${tokens(s.cacheReadTokens)} cache read, ${tokens(s.cacheCreationTokens)} cache write; largest context ${tokens(s.maxContextTokens)}`,
  );
  line(
    'cost:',
    `${money(s.costUsd)} (SDK estimate ${money(s.sdkCostUsd)}${s.unpricedCostUsd > 0 ? `; ${money(s.unpricedCostUsd)} of unknown models at the SDK's price` : ''})`,
  );
  line(
    'turns:',
    `${s.turns} model responses; first token ${duration(meanMs(s.ttft))} avg, response ${duration(meanMs(s.turnTime))} avg (max ${duration(s.turnTime.maxMs)}); agents ${duration(meanMs(s.agentTime))} avg`,
  );
  line(
    'tools:',
    `${s.toolCalls} calls${s.toolCalls > 0 ? `: ${counts(s.toolCallsByTool)}` : ''}; ${s.toolErrors} errors`,
  );
  line('errors:', s.errors > 0 ? counts(s.errorsByKind) : 'none');
  line('other:', `${s.retries} retries, ${s.interruptions} interruptions, ${s.humanInterventions} human inputs`);
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

import type { MetricsState } from '../monitor/index.ts';
import { BudgetLedger } from '../monitor/index.ts';
import type { CompiledBudget, SessionState } from '../workflow/index.ts';

/**
 * A session's budgets as configured, with what was spent against each and what is left: the
 * limits over the session, each workflow run and each agent type (the global settings and the
 * workflow files' `budget:`, combined by the monitor's own rule: the lowest applies) and each
 * node's `budget: { usd, tokens }`. Pure: from the session's state (which keeps each run's
 * definition) and its figures.
 */

/** One limit in force, and how it stands. */
export interface BudgetLine {
  readonly scope: 'session' | 'workflow' | 'agentType' | 'node';
  /** The session id, workflow id, agent type, or `<workflow id>/<node id>`. */
  readonly key: string;
  readonly workflowId?: string;
  readonly nodeId?: string;
  readonly limitUsd?: number;
  readonly spentUsd: number;
  /** What is left of `limitUsd` (0 once it is reached). */
  readonly leftUsd?: number;
  /** A node's token limit: input (cache reads and writes included) plus output, as the model gateway counts. */
  readonly limitTokens?: number;
  readonly spentTokens?: number;
  readonly leftTokens?: number;
  /** Spending is at or above a limit of the line. */
  readonly reached: boolean;
  /** What reaching it does (node limits fail the node's agent). */
  readonly action: 'fail' | 'pause';
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/**
 * The budgets of a session, session first, then each workflow, agent type and node with a limit.
 * @param global the limits of the configuration in force (`monitorSettings(config).budget`)
 */
export function budgetLines(
  state: SessionState,
  metrics: MetricsState,
  global: CompiledBudget | undefined,
): BudgetLine[] {
  const ledger = new BudgetLedger(state.sessionId, global);
  const workflows = Object.values(state.workflows);
  const agentTypes = new Set(Object.keys(global?.agentTypes ?? {}));
  for (const wf of workflows) {
    // The ledger reads a run's limits from its start event: the state keeps that event's definition.
    ledger.observe({
      id: '',
      type: 'workflow.started',
      sessionId: state.sessionId,
      seq: 0,
      ts: wf.startedAt,
      source: 'reports',
      correlationId: null,
      causationId: null,
      data: { workflowId: wf.workflowId, name: wf.name, definition: wf.definition, file: wf.file },
    });
    const raw = (wf.definition as { budget?: { agentTypes?: Record<string, unknown> } } | undefined)?.budget;
    for (const type of Object.keys(raw?.agentTypes ?? {})) agentTypes.add(type);
  }
  const lines = new Map<string, BudgetLine>();
  const usdLine = (
    scope: BudgetLine['scope'],
    key: string,
    limitUsd: number,
    spent: number,
    action: 'fail' | 'pause',
    extra = {},
  ) => {
    const spentUsd = round(spent);
    lines.set(`${scope}|${key}`, {
      scope,
      key,
      ...extra,
      limitUsd,
      spentUsd,
      leftUsd: round(Math.max(0, limitUsd - spentUsd)),
      reached: spentUsd >= limitUsd,
      action,
    });
  };
  const requests = [
    { workflowId: undefined, agentType: '' },
    ...workflows.map((wf) => ({ workflowId: wf.workflowId, agentType: '' })),
    ...[...agentTypes].map((agentType) => ({ workflowId: workflows.at(-1)?.workflowId, agentType })),
  ];
  for (const request of requests) {
    for (const limit of ledger.limitsOf(request)) {
      if (lines.has(`${limit.scope}|${limit.key}`)) continue;
      const spent =
        limit.scope === 'session'
          ? metrics.session.costUsd
          : limit.scope === 'workflow'
            ? (metrics.workflows[limit.key]?.costUsd ?? 0)
            : (metrics.agentTypes[limit.key]?.costUsd ?? 0);
      const extra = limit.scope === 'workflow' ? { workflowId: limit.key } : {};
      usdLine(limit.scope, limit.key, limit.limitUsd, spent, limit.action, extra);
    }
  }
  for (const wf of workflows) {
    const definition = wf.definition as { nodes?: unknown } | undefined;
    const nodes = [...(Array.isArray(definition?.nodes) ? definition.nodes : []), ...wf.addedNodes];
    for (const node of nodes) {
      const { id, budget } = (node ?? {}) as { id?: unknown; budget?: { usd?: unknown; tokens?: unknown } };
      if (typeof id !== 'string' || budget === undefined || budget === null) continue;
      const usd = finite(budget.usd);
      const tokens = finite(budget.tokens);
      if (usd === undefined && tokens === undefined) continue;
      const figures = metrics.workflows[wf.workflowId]?.nodes[id];
      const spentUsd = round(figures?.costUsd ?? 0);
      const spentTokens = figures
        ? figures.inputTokens + figures.outputTokens + figures.cacheReadTokens + figures.cacheCreationTokens
        : 0;
      lines.set(`node|${wf.workflowId}/${id}`, {
        scope: 'node',
        key: `${wf.workflowId}/${id}`,
        workflowId: wf.workflowId,
        nodeId: id,
        spentUsd,
        ...(usd !== undefined && { limitUsd: usd, leftUsd: round(Math.max(0, usd - spentUsd)) }),
        ...(tokens !== undefined && {
          limitTokens: tokens,
          spentTokens,
          leftTokens: Math.max(0, tokens - spentTokens),
        }),
        reached: (usd !== undefined && spentUsd >= usd) || (tokens !== undefined && spentTokens >= tokens),
        action: 'fail',
      });
    }
  }
  return [...lines.values()];
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

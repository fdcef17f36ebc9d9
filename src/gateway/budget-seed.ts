import type { AnyEvent } from '../events/index.ts';
import { replayMetrics } from '../monitor/index.ts';
import { accountsOf, type GateScope } from './budget-ledger.ts';
import type { ReportedLimit } from './budget-report.ts';

/**
 * What a resumed session had spent, per scope, from its log: the budget gate's accounts start
 * from it. Two sources carry spend:
 * - `model.request` events (the gateway's, one per request, with `costUsd`): the wire's figure;
 * - what the monitor's metrics project from the agents' own reports (`agent.usage` live,
 *   corrected by `agent.completed` / `agent.failed`, priced from `modelUsage`).
 * Per agent the higher of the two counts (both measure the same spend; the higher one is the
 * conservative one, and it covers a session whose early agents ran before the gateway did).
 */

/** What one scope had spent, in US dollars and in tokens (input, cache reads and writes included, plus output). */
export interface ScopeSpend {
  readonly scope: GateScope;
  /** As in `ScopeRef.key`. */
  readonly key: string;
  readonly usd: number;
  /** @default 0 */
  readonly tokens?: number;
}

/** Tokens of a scope's figures, as token limits count them. */
function tokensOf(figures: {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}): number {
  return figures.inputTokens + figures.outputTokens + figures.cacheReadTokens + figures.cacheCreationTokens;
}

/** The gateway's per-request event; not in this branch's catalog yet, so read loosely. */
const MODEL_REQUEST = 'model.request';

/** A session's spend so far per scope (session, workflows, agent types, nodes, agents). */
export function spentByScope(sessionId: string, events: readonly AnyEvent[]): ScopeSpend[] {
  const metrics = replayMetrics(sessionId, events);
  const wire = new Map<string, { usd: number; tokens: number }>();
  for (const event of events) {
    if ((event.type as string) !== MODEL_REQUEST) continue;
    const data = event.data as Partial<Record<'costUsd' | TokenKind, unknown>> & { agentId?: unknown };
    if (typeof data.agentId !== 'string') continue;
    const seen = wire.get(data.agentId) ?? { usd: 0, tokens: 0 };
    if (typeof data.costUsd === 'number' && data.costUsd > 0) seen.usd += data.costUsd;
    for (const kind of TOKEN_KINDS) {
      const n = data[kind];
      if (typeof n === 'number' && n > 0) seen.tokens += n;
    }
    wire.set(data.agentId, seen);
  }
  const totals = new Map<string, { scope: GateScope; key: string; usd: number; tokens: number }>();
  const add = (scope: GateScope, key: string, usd: number, tokens: number) => {
    const id = `${scope}|${key}`;
    const total = totals.get(id) ?? { scope, key, usd: 0, tokens: 0 };
    total.usd += usd;
    total.tokens += tokens;
    totals.set(id, total);
  };
  let unattributed = { usd: 0, tokens: 0 };
  for (const [agentId, seen] of wire) {
    if (!metrics.agents[agentId])
      unattributed = { usd: unattributed.usd + seen.usd, tokens: unattributed.tokens + seen.tokens };
  }
  add(
    'session',
    sessionId,
    metrics.session.costUsd + unattributed.usd,
    tokensOf(metrics.session) + unattributed.tokens,
  );
  for (const [workflowId, workflow] of Object.entries(metrics.workflows)) {
    add('workflow', workflowId, workflow.costUsd, tokensOf(workflow));
    for (const [nodeId, node] of Object.entries(workflow.nodes)) {
      add('node', `${workflowId}/${nodeId}`, node.costUsd, tokensOf(node));
    }
  }
  for (const [agentType, figures] of Object.entries(metrics.agentTypes)) {
    add('agentType', agentType, figures.costUsd, tokensOf(figures));
  }
  for (const agent of Object.values(metrics.agents)) {
    add('agent', agent.agentId, agent.costUsd, tokensOf(agent));
    // The wire saw more than the agent reported: the difference counts in every scope over it.
    const seen = wire.get(agent.agentId);
    const moreUsd = Math.max(0, (seen?.usd ?? 0) - agent.costUsd);
    const moreTokens = Math.max(0, (seen?.tokens ?? 0) - tokensOf(agent));
    if (moreUsd <= 0 && moreTokens <= 0) continue;
    const identity = {
      sessionId,
      agentId: agent.agentId,
      agentType: agent.agentType,
      workflowId: agent.workflowId,
      nodeId: agent.nodeId,
    };
    for (const ref of accountsOf(identity)) add(ref.scope, ref.key, moreUsd, moreTokens);
  }
  return [...totals.values()].filter((spend) => spend.usd > 0 || spend.tokens > 0);
}

const TOKEN_KINDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheCreationTokens'] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];

/** The `budget.exhausted` events of a session: limits already reported, not to be reported again. */
export function exhaustedIn(events: readonly AnyEvent[]): ReportedLimit[] {
  const out: ReportedLimit[] = [];
  for (const event of events) {
    if (event.type !== 'budget.exhausted') continue;
    const { scope, key, limitUsd, limitTokens } = event.data;
    out.push({ scope, key, limitUsd, limitTokens });
  }
  return out;
}

import type { AnyEvent } from '../events/index.ts';
import { replayMetrics } from '../monitor/index.ts';
import { accountsOf, type GateScope } from './budget-ledger.ts';

/**
 * What a resumed session had spent, per scope, from its log: the budget gate's accounts start
 * from it. Two sources carry spend:
 * - `model.request` events (the gateway's, one per request, with `costUsd`): the wire's figure;
 * - what the monitor's metrics project from the agents' own reports (`agent.usage` live,
 *   corrected by `agent.completed` / `agent.failed`, priced from `modelUsage`).
 * Per agent the higher of the two counts (both measure the same spend; the higher one is the
 * conservative one, and it covers a session whose early agents ran before the gateway did).
 */

/** What one scope had spent, in US dollars. */
export interface ScopeSpend {
  readonly scope: GateScope;
  /** As in `ScopeRef.key`. */
  readonly key: string;
  readonly usd: number;
}

/** The gateway's per-request event; not in this branch's catalog yet, so read loosely. */
const MODEL_REQUEST = 'model.request';

/** A session's spend so far per scope (session, workflows, agent types, nodes, agents). */
export function spentByScope(sessionId: string, events: readonly AnyEvent[]): ScopeSpend[] {
  const metrics = replayMetrics(sessionId, events);
  const wire = new Map<string, number>();
  for (const event of events) {
    if ((event.type as string) !== MODEL_REQUEST) continue;
    const data = event.data as { agentId?: unknown; costUsd?: unknown };
    if (typeof data.agentId !== 'string' || typeof data.costUsd !== 'number' || !(data.costUsd > 0)) continue;
    wire.set(data.agentId, (wire.get(data.agentId) ?? 0) + data.costUsd);
  }
  const totals = new Map<string, ScopeSpend>();
  const add = (scope: GateScope, key: string, usd: number) => {
    const id = `${scope}|${key}`;
    totals.set(id, { scope, key, usd: (totals.get(id)?.usd ?? 0) + usd });
  };
  let unattributed = 0;
  for (const [agentId, usd] of wire) if (!metrics.agents[agentId]) unattributed += usd;
  add('session', sessionId, metrics.session.costUsd + unattributed);
  for (const [workflowId, workflow] of Object.entries(metrics.workflows)) {
    add('workflow', workflowId, workflow.costUsd);
    for (const [nodeId, node] of Object.entries(workflow.nodes)) add('node', `${workflowId}/${nodeId}`, node.costUsd);
  }
  for (const [agentType, figures] of Object.entries(metrics.agentTypes)) add('agentType', agentType, figures.costUsd);
  for (const agent of Object.values(metrics.agents)) {
    add('agent', agent.agentId, agent.costUsd);
    // The wire saw more than the agent reported: the difference counts in every scope over it.
    const more = (wire.get(agent.agentId) ?? 0) - agent.costUsd;
    if (more <= 0) continue;
    const identity = {
      sessionId,
      agentId: agent.agentId,
      agentType: agent.agentType,
      workflowId: agent.workflowId,
      nodeId: agent.nodeId,
    };
    for (const ref of accountsOf(identity)) add(ref.scope, ref.key, more);
  }
  return [...totals.values()].filter((spend) => spend.usd > 0);
}

/** The `budget.exhausted` events of a session: limits already reported, not to be reported again. */
export function exhaustedIn(
  events: readonly AnyEvent[],
): { readonly scope: GateScope; readonly key: string; readonly limitUsd: number }[] {
  const out: { scope: GateScope; key: string; limitUsd: number }[] = [];
  for (const event of events) {
    if (event.type === 'budget.exhausted')
      out.push({ scope: event.data.scope, key: event.data.key, limitUsd: event.data.limitUsd });
  }
  return out;
}

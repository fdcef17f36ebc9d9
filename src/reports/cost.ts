import type { MetricsState } from '../monitor/index.ts';

/**
 * One cost figure for a session, and Claude Code's estimate beside it with the difference
 * accounted for. The figure is priced by the orchestrator: from the usage read off the wire for
 * agents behind the model gateway, else from each attempt's usage per model, at the monitor's
 * price table. Claude Code's estimate (`total_cost_usd`) only arrives with an attempt's result,
 * so an attempt whose process died never adds to it, and it prices tokens with its own table.
 */
export interface CostReport {
  /** The cost, in US dollars (what every view of the session shows). */
  readonly costUsd: number;
  /** Claude Code's own estimate, summed over the attempts that reported one. */
  readonly sdkCostUsd: number;
  /** `costUsd - sdkCostUsd`. */
  readonly differenceUsd: number;
  /**
   * Of the difference: the spend of attempts whose process died before Claude Code reported it
   * (counted from their responses; its estimate never saw them).
   */
  readonly unreportedUsd: number;
  /** Agents with such an attempt. */
  readonly unreportedAgents: number;
  /** The rest of the difference: the same tokens priced by the price table and by Claude Code. */
  readonly pricingUsd: number;
  /** Of `costUsd`: models the price table does not know, taken at Claude Code's price. */
  readonly unpricedUsd: number;
  /** Where `costUsd` comes from: the gateway's wire usage, the attempts' usage, both, or nothing spent yet. */
  readonly pricedFrom: 'wire' | 'usage' | 'mixed' | 'none';
  /** Of `costUsd`: spending inherited from the session a fork or an import copied (made there, not here). */
  readonly inheritedUsd: number;
}

/** Rounds away float noise (a nanodollar), so that a difference of nothing reads as 0. */
const usd = (value: number) => Math.round(value * 1e9) / 1e9;

/** The cost of a session's figures (see {@link CostReport}). */
export function costReport(metrics: MetricsState): CostReport {
  const agents = Object.values(metrics.agents);
  let unreported = 0;
  let unreportedAgents = 0;
  let inherited = 0;
  let wire = 0;
  let fromUsage = 0;
  for (const agent of agents) {
    if (agent.unreportedUsd !== undefined && agent.unreportedUsd > 0) {
      unreported += agent.unreportedUsd;
      unreportedAgents++;
    }
    if (agent.inheritedFrom !== undefined) inherited += agent.costUsd;
    // Only agents that spent say where the figure comes from (one killed before its first
    // request has nothing to price).
    if (agent.wire) wire++;
    else if (agent.costUsd !== 0 || agent.turns > 0) fromUsage++;
  }
  const { costUsd, sdkCostUsd, unpricedCostUsd } = metrics.session;
  const difference = costUsd - sdkCostUsd;
  return {
    costUsd: usd(costUsd),
    sdkCostUsd: usd(sdkCostUsd),
    differenceUsd: usd(difference),
    unreportedUsd: usd(unreported),
    unreportedAgents,
    pricingUsd: usd(difference - unreported),
    unpricedUsd: usd(unpricedCostUsd),
    pricedFrom: wire + fromUsage === 0 ? 'none' : fromUsage === 0 ? 'wire' : wire === 0 ? 'usage' : 'mixed',
    inheritedUsd: usd(inherited),
  };
}

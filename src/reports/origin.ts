import type { MetricsState, SessionOrigin } from '../monitor/index.ts';

/**
 * Where a session's history came from: the latest fork or import that copied it, and what the
 * agents of the copied part had spent (made in the session they came from, not here).
 */
export interface OriginReport extends SessionOrigin {
  /** Agents of the copied history. */
  readonly inheritedAgents: number;
  readonly inheritedCostUsd: number;
  readonly inheritedSdkCostUsd: number;
  /** Forks and imports before this one, oldest first (a fork of a fork). */
  readonly earlier: readonly SessionOrigin[];
}

/** The origin of a session's figures; undefined for a session that began here. */
export function originReport(metrics: MetricsState): OriginReport | undefined {
  const latest = metrics.origins.at(-1);
  if (latest === undefined) return undefined;
  let agents = 0;
  let cost = 0;
  let sdk = 0;
  for (const agent of Object.values(metrics.agents)) {
    if (agent.inheritedFrom === undefined) continue;
    agents++;
    cost += agent.costUsd;
    sdk += agent.sdkCostUsd;
  }
  return {
    ...latest,
    inheritedAgents: agents,
    inheritedCostUsd: Math.round(cost * 1e9) / 1e9,
    inheritedSdkCostUsd: Math.round(sdk * 1e9) / 1e9,
    earlier: metrics.origins.slice(0, -1),
  };
}

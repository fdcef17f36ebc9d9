/**
 * Rules granted or revoked at run time for an agent type of a session. The latest event for a
 * (type, rule) pair wins: a revocation withdraws an earlier grant of the same rule, and a grant
 * lifts an earlier revocation of it.
 */
export interface SessionRules {
  /** Per agent type. */
  readonly byType: Record<string, TypeRules>;
}

/** The run-time rules of one agent type. */
export interface TypeRules {
  /** Answer Claude Code's permission prompt with allow for calls these rules cover. */
  readonly granted: readonly string[];
  /** Deny calls these rules cover (Claude Code for agents started later, our hook for running ones). */
  readonly revoked: readonly string[];
}

/** No grants, no revocations. */
export const NO_RULES: TypeRules = Object.freeze({ granted: [], revoked: [] });

/** An empty projection. */
export function emptySessionRules(): SessionRules {
  return { byType: {} };
}

/** Applies a `security.granted` or `security.revoked` event to the projection (mutates it). */
export function applyRuleChange(
  rules: SessionRules,
  change: { readonly kind: 'granted' | 'revoked'; readonly agentType: string; readonly rule: string },
): void {
  const current = rules.byType[change.agentType] ?? NO_RULES;
  const granted = current.granted.filter((rule) => rule !== change.rule);
  const revoked = current.revoked.filter((rule) => rule !== change.rule);
  if (change.kind === 'granted') granted.push(change.rule);
  else revoked.push(change.rule);
  rules.byType[change.agentType] = { granted, revoked };
}

/** The run-time rules of an agent type. */
export function rulesOf(rules: SessionRules | undefined, agentType: string): TypeRules {
  return rules?.byType[agentType] ?? NO_RULES;
}

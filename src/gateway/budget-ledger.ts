import type { AgentIdentity } from './contract.ts';

/**
 * The budget gate's accounts: per session, per scope, what was booked (spent, from real usage)
 * and what is held (reserved by requests in flight), in whole nano-dollars. In memory, one
 * per orchestrator process; a resumed session is seeded from its log.
 */

/** What a budget applies to. `node` and `agent` limits are enforced by the gateway only. */
export type GateScope = 'session' | 'workflow' | 'agentType' | 'node' | 'agent';

/** One account: the session's, a workflow's, an agent type's in the session, a node's, an agent's. */
export interface ScopeRef {
  readonly sessionId: string;
  readonly scope: GateScope;
  /** The session id, workflow id, agent type name, `workflowId/nodeId`, or agent id. */
  readonly key: string;
}

/** One account's figures, in nano-dollars. */
export interface Account {
  booked: number;
  held: number;
  /** The limit in force when a request was last admitted against it. */
  limit: number | undefined;
}

/**
 * The accounts an agent's requests are booked to: one per scope that covers it. Kept per
 * identity (an agent's identity object is the same for all its requests), so that a request
 * builds no refs and no key strings.
 */
export function accountsOf(agent: AgentIdentity): readonly ScopeRef[] {
  let refs = REFS.get(agent);
  if (!refs) {
    refs = Object.freeze(refsOf(agent));
    REFS.set(agent, refs);
  }
  return refs;
}

const REFS = new WeakMap<AgentIdentity, readonly ScopeRef[]>();
/** The key of each account in its session's map, per ref object. */
const IDS = new WeakMap<ScopeRef, string>();

function idOf(ref: ScopeRef): string {
  let id = IDS.get(ref);
  if (id === undefined) {
    id = `${ref.scope}|${ref.key}`;
    IDS.set(ref, id);
  }
  return id;
}

function refsOf(agent: AgentIdentity): ScopeRef[] {
  const { sessionId } = agent;
  const refs: ScopeRef[] = [{ sessionId, scope: 'session', key: sessionId }];
  if (agent.workflowId !== undefined) refs.push({ sessionId, scope: 'workflow', key: agent.workflowId });
  refs.push({ sessionId, scope: 'agentType', key: agent.agentType });
  if (agent.nodeId !== undefined) {
    const key = agent.workflowId === undefined ? agent.nodeId : `${agent.workflowId}/${agent.nodeId}`;
    refs.push({ sessionId, scope: 'node', key });
  }
  refs.push({ sessionId, scope: 'agent', key: agent.agentId });
  return refs;
}

/** Every account of every session this process has seen. */
export class SpendLedger {
  readonly #sessions = new Map<string, Map<string, Account>>();

  /** The account of a scope, opened empty when new. */
  open(ref: ScopeRef): Account {
    let accounts = this.#sessions.get(ref.sessionId);
    if (!accounts) {
      accounts = new Map();
      this.#sessions.set(ref.sessionId, accounts);
    }
    const id = idOf(ref);
    let account = accounts.get(id);
    if (!account) {
      account = { booked: 0, held: 0, limit: undefined };
      accounts.set(id, account);
    }
    return account;
  }

  /** The account of a scope, if any request or seed touched it. */
  peek(ref: ScopeRef): Readonly<Account> | undefined {
    return this.#sessions.get(ref.sessionId)?.get(idOf(ref));
  }

  /** Sets what a scope had spent before this process (idempotent: the higher figure stays). */
  seed(ref: ScopeRef, nano: number): void {
    const account = this.open(ref);
    account.booked = Math.max(account.booked, nano);
  }

  hold(refs: readonly ScopeRef[], nano: number): void {
    for (const ref of refs) this.open(ref).held += nano;
  }

  release(refs: readonly ScopeRef[], nano: number): void {
    for (const ref of refs) {
      const account = this.open(ref);
      account.held = Math.max(0, account.held - nano);
    }
  }

  book(refs: readonly ScopeRef[], nano: number): void {
    for (const ref of refs) this.open(ref).booked += nano;
  }

  /** Drops a session's accounts (it ended in this process). */
  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }
}

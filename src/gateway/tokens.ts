import { randomBytes } from 'node:crypto';
import { OrchestratorError } from '../errors/index.ts';
import type { AgentIdentity } from './contract.ts';

/** The prefix of every gateway token, so that one is recognised in a log or a leaked environment. */
export const TOKEN_PREFIX = 'orch-agt-';

/** A minted token and the means to end it. */
export interface AgentToken {
  /** `orch-agt-` and 32 random bytes (base64url): unguessable, meaningless outside this process. */
  readonly token: string;
  /** Ends the token: later requests with it are refused. Idempotent. */
  release(): void;
}

/** What a token stands for: an agent, or a warm pool's spare that no agent has taken yet. */
export type TokenHolder =
  | { readonly kind: 'agent'; readonly identity: AgentIdentity }
  | { readonly kind: 'spare'; readonly identity: undefined };

const UNBOUND_SPARE: TokenHolder = { kind: 'spare', identity: undefined };

/**
 * The live tokens of one gateway, in memory: a token is minted when an agent starts and
 * released when it ends, so a token copied out of an agent's environment is worth nothing once
 * the agent is gone. A warm pool's spare starts before its agent exists (and the environment
 * it read at start-up cannot change at claim): it gets a spare token, which stands for no one
 * (its requests are refused) until {@link bind} gives it the agent that took the spare, once.
 * Tokens never leave the process that minted them (no persistence: a restarted orchestrator
 * restarts its agents, which get new tokens).
 */
export class TokenRegistry {
  readonly #live = new Map<string, TokenHolder>();

  mint(identity: AgentIdentity): AgentToken {
    return this.#mint({ kind: 'agent', identity });
  }

  /** A token for a spare: refused until it is bound to the agent that takes the spare. */
  mintSpare(): AgentToken {
    return this.#mint(UNBOUND_SPARE);
  }

  /**
   * Binds a spare token to the agent that took its spare: from now on its requests are that
   * agent's. @throws OrchestratorError `INVALID_ARGUMENT` when the token is unknown (released)
   * or not an unbound spare token (a spare is taken once).
   */
  bind(token: string, identity: AgentIdentity): void {
    const holder = this.#live.get(token);
    if (holder?.kind !== 'spare') {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        holder ? 'only an unbound spare token can be bound' : 'unknown or released gateway token',
        { details: { agentId: identity.agentId } },
      );
    }
    this.#live.set(token, { kind: 'agent', identity });
  }

  /** What a token stands for, or undefined for an unknown or released token. */
  holder(token: string | undefined): TokenHolder | undefined {
    return token === undefined ? undefined : this.#live.get(token);
  }

  /** The agent a token stands for, or undefined for an unknown, released or unbound spare token. */
  resolve(token: string | undefined): AgentIdentity | undefined {
    return this.holder(token)?.identity;
  }

  /** Tokens alive now (spare tokens included). */
  get size(): number {
    return this.#live.size;
  }

  #mint(holder: TokenHolder): AgentToken {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    this.#live.set(token, holder);
    return { token, release: () => void this.#live.delete(token) };
  }
}

/** The token of a request: `x-api-key`, else `Authorization: Bearer ...`. */
export function tokenOf(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key !== '') return key;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    if (match) return match[1];
  }
  return undefined;
}

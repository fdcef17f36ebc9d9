import { randomBytes } from 'node:crypto';
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

/**
 * The live agent tokens of one gateway, in memory: a token is minted when an agent starts and
 * released when it ends, so a token copied out of an agent's environment is worth nothing once
 * the agent is gone. Tokens never leave the process that minted them (no persistence: a
 * restarted orchestrator restarts its agents, which get new tokens).
 */
export class TokenRegistry {
  readonly #live = new Map<string, AgentIdentity>();

  mint(identity: AgentIdentity): AgentToken {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    this.#live.set(token, identity);
    return { token, release: () => void this.#live.delete(token) };
  }

  /** The agent a token stands for, or undefined for an unknown or released token. */
  resolve(token: string | undefined): AgentIdentity | undefined {
    return token === undefined ? undefined : this.#live.get(token);
  }

  /** Tokens alive now. */
  get size(): number {
    return this.#live.size;
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

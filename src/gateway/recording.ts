import { createHash } from 'node:crypto';
import { readRequest, replayIdentity } from '../model-server/index.ts';
import type { Redactor } from '../security/index.ts';
import type { TranscriptKey } from '../store/index.ts';
import type { Exchange } from './contract.ts';

/**
 * What is kept of one model exchange, and where: pure functions shared by the recorder (which
 * writes) and the cassette (which reads). See docs/cassettes.md.
 */

/** The `type` of a recorded exchange entry. */
export const EXCHANGE_ENTRY_TYPE = 'gateway_exchange';

/**
 * The transcript project that holds recordings. Claude Code's project keys come from absolute
 * paths and so always begin with `-`; this one cannot be taken by an agent's transcripts.
 */
export const RECORDINGS_PROJECT = 'orchestrator-gateway-recordings';

/** Where a session's recorded exchanges are kept in the `TranscriptStore`. */
export function recordingKey(sessionId: string): TranscriptKey {
  return { projectKey: RECORDINGS_PROJECT, sessionId };
}

/**
 * One recorded exchange, as stored (one transcript entry, JSON). A type alias, not an interface,
 * so that it is assignable to the store's open `TranscriptEntry`.
 */
export type RecordedExchange = {
  readonly type: typeof EXCHANGE_ENTRY_TYPE;
  /** `<requestId>:<digest of the recorded response>`: a repeated observation is stored once. */
  readonly uuid: string;
  /** ISO time of the observation. */
  readonly timestamp: string;
  readonly requestId: string;
  readonly agentId: string;
  readonly agentType: string;
  readonly nodeId?: string | undefined;
  readonly subagent?: string | undefined;
  readonly model: string;
  readonly path: string;
  readonly stream: boolean;
  /** SHA-256 of the request body as received (hex). */
  readonly bodyDigest: string;
  /**
   * The conversation within the session: the agent, the SDK session of the request (from
   * `metadata.user_id`) and the identity digests (subagents share their parent's SDK session).
   */
  readonly conversation: string;
  /** SHA-256 of the last system block's text (see `replayIdentity`). */
  readonly systemDigest: string;
  /** SHA-256 of the first user message's text. */
  readonly userDigest: string;
  /** The turn the request asked for: assistant messages it carried (see `countTurns`). */
  readonly turn: number;
  readonly status: number;
  readonly contentType: string;
  /** The response body as UTF-8 text (the Messages API sends SSE or JSON), secrets removed. */
  readonly body: string;
};

type Json = Record<string, unknown>;

/** The SDK session id Claude Code puts in `metadata.user_id` (a JSON string), if any. */
function sdkSessionOf(body: Readonly<Json>): string | undefined {
  const metadata = body.metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const userId = (metadata as Json).user_id;
  if (typeof userId !== 'string') return undefined;
  try {
    const parsed = JSON.parse(userId) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as Json).session_id === 'string') {
      return (parsed as Json).session_id as string;
    }
  } catch {
    // Not JSON: fall through.
  }
  return undefined;
}

/** Only Messages API turns are recorded (`count_tokens` and other paths answer no turn). */
export function isRecordable(exchange: Exchange): boolean {
  return exchange.request.path.split('?')[0] === '/v1/messages';
}

/**
 * The entry to store for an exchange, with known secrets removed from the response body.
 * `undefined` when it is not recordable (another path, or a body that is no Messages request).
 */
export function toRecordedExchange(exchange: Exchange, redactor: Redactor, at: Date): RecordedExchange | undefined {
  if (!isRecordable(exchange)) return undefined;
  const { request } = exchange;
  let facts: ReturnType<typeof readRequest>;
  try {
    facts = readRequest(request.body, undefined);
  } catch {
    return undefined;
  }
  const identity = replayIdentity(facts);
  const body = redactor.redactText(exchange.body.toString('utf8'));
  const sdkSession = sdkSessionOf(request.body) ?? '';
  return {
    type: EXCHANGE_ENTRY_TYPE,
    uuid: `${request.requestId}:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`,
    timestamp: at.toISOString(),
    requestId: request.requestId,
    agentId: request.agent.agentId,
    agentType: request.agent.agentType,
    ...(request.agent.nodeId !== undefined ? { nodeId: request.agent.nodeId } : {}),
    ...(request.subagent !== undefined ? { subagent: request.subagent } : {}),
    model: request.model,
    path: request.path,
    stream: request.stream,
    bodyDigest: request.bodyDigest,
    conversation: [request.agent.agentId, sdkSession, identity.system, identity.user].join('/'),
    systemDigest: identity.system,
    userDigest: identity.user,
    turn: facts.turn,
    status: exchange.status,
    contentType: exchange.contentType,
    body,
  };
}

/** True for a stored entry that is a recorded exchange (other entries are skipped). */
export function isRecordedExchange(entry: { readonly type: string }): entry is RecordedExchange {
  const e = entry as Partial<RecordedExchange>;
  return (
    e.type === EXCHANGE_ENTRY_TYPE &&
    typeof e.conversation === 'string' &&
    typeof e.systemDigest === 'string' &&
    typeof e.userDigest === 'string' &&
    typeof e.turn === 'number' &&
    typeof e.status === 'number' &&
    typeof e.contentType === 'string' &&
    typeof e.body === 'string'
  );
}

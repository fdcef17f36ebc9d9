import { createHash } from 'node:crypto';
import type { RequestFacts } from './request.ts';

/**
 * Replay of recorded exchanges (a cassette, see docs/cassettes.md): which recorded response
 * answers a live request. A live run is never byte-identical to the recorded one (session ids,
 * temporary folders, timestamps in tool results), so a request is matched by what stays the
 * same: its conversation's identity (the digests of the last system block and of the first user
 * message, see {@link replayIdentity}) and its turn within the conversation. Matching is in two
 * steps: a live conversation is bound once to a recorded conversation of the same identity not
 * yet bound (in recorded order, so two agents with the same prompts get the two recordings in
 * turn), then each request of it takes the recorded exchange of its turn; the Nth attempt of a
 * turn takes the Nth recorded exchange of that turn (a recorded 529 then 200 replays as such),
 * the last one repeating.
 */

/**
 * What identifies a conversation across runs: digests of its stable parts, with what differs
 * from run to run masked first (see {@link identityText}).
 */
export interface ReplayIdentity {
  /** SHA-256 (hex) of the text of the last `system` block (the agent's or subagent's prompt). */
  readonly system: string;
  /** SHA-256 (hex) of the first user message's text, `<system-reminder>` sections removed. */
  readonly user: string;
}

/** One recorded exchange, compiled. */
export interface ReplayExchange {
  /** The recorded conversation it belongs to (a label, such as `c1`). */
  readonly conversation: string;
  readonly identity: ReplayIdentity;
  /** The turn it answered: assistant messages in the request (see `countTurns`). */
  readonly turn: number;
  readonly status: number;
  readonly contentType: string;
  /** The response body exactly as recorded (secrets already removed by the recorder). */
  readonly body: Buffer;
}

/** One recorded conversation: its identity and its exchanges per turn, in recorded order. */
export interface ReplayConversation {
  readonly label: string;
  readonly identity: ReplayIdentity;
  readonly turns: ReadonlyMap<number, readonly ReplayExchange[]>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** An absolute path, where a prompt can hold one (after a space, quote, bracket, `=` or `:`). */
const ABSOLUTE_PATH = /(?<=^|[\s`'"([=:,])\/[^\s`'"()[\],]*/g;
const ISO_DATE = /\b\d{4}-\d{2}-\d{2}\b/g;

/**
 * The text an identity digest is taken of: absolute paths and ISO dates masked. Claude Code
 * writes the agent's memory folder (under its config folder and the session's workspace) into
 * the last system block, and a task may name files by absolute path; neither is the same in a
 * replaying run, nor is the date.
 */
export function identityText(text: string): string {
  return text.replace(ABSOLUTE_PATH, '<path>').replace(ISO_DATE, '<date>');
}

/** The identity of a request's conversation, as the recorder stores it and the replay matches it. */
export function replayIdentity(facts: Pick<RequestFacts, 'systemLast' | 'firstUserText'>): ReplayIdentity {
  return { system: sha256(identityText(facts.systemLast)), user: sha256(identityText(facts.firstUserText)) };
}

/** Groups exchanges into conversations, keeping the order in which conversations first appear. */
export function groupReplay(exchanges: readonly ReplayExchange[]): ReplayConversation[] {
  const byLabel = new Map<string, { identity: ReplayIdentity; turns: Map<number, ReplayExchange[]> }>();
  for (const exchange of exchanges) {
    let conversation = byLabel.get(exchange.conversation);
    if (!conversation) {
      conversation = { identity: exchange.identity, turns: new Map() };
      byLabel.set(exchange.conversation, conversation);
    }
    const list = conversation.turns.get(exchange.turn) ?? [];
    list.push(exchange);
    conversation.turns.set(exchange.turn, list);
  }
  return [...byLabel].map(([label, c]) => ({ label, identity: c.identity, turns: c.turns }));
}

const same = (a: ReplayIdentity, b: ReplayIdentity): boolean => a.system === b.system && a.user === b.user;

/** What {@link ReplayState.answer} found for a request. */
export type ReplayAnswer =
  | { readonly kind: 'exchange'; readonly exchange: ReplayExchange; readonly attempt: number }
  /** No recorded conversation has this identity (or all of them are bound to other live ones). */
  | { readonly kind: 'no_conversation' }
  /** The conversation was recorded, but not this turn of it (the live run went further). */
  | { readonly kind: 'no_turn'; readonly conversation: string };

/**
 * The replay's memory: which live conversation plays which recorded one, and attempts per turn.
 * One per server (and per scenario: replacing the scenario starts a new one).
 */
export class ReplayState {
  readonly #conversations: readonly ReplayConversation[];
  readonly #bound = new Map<string, ReplayConversation>();
  readonly #taken = new Set<string>();
  readonly #attempts = new Map<string, number>();

  constructor(conversations: readonly ReplayConversation[]) {
    this.#conversations = conversations;
  }

  /** The recorded answer to a request (counts the attempt). */
  answer(facts: RequestFacts): ReplayAnswer {
    const identity = replayIdentity(facts);
    // Subagents share their parent's session id: the identity tells them apart.
    const live = `${facts.conversation}\u0000${identity.system}\u0000${identity.user}`;
    let conversation = this.#bound.get(live);
    if (!conversation) {
      conversation = this.#conversations.find((c) => !this.#taken.has(c.label) && same(c.identity, identity));
      if (!conversation) return { kind: 'no_conversation' };
      this.#taken.add(conversation.label);
      this.#bound.set(live, conversation);
    }
    const recorded = conversation.turns.get(facts.turn);
    if (!recorded || recorded.length === 0) return { kind: 'no_turn', conversation: conversation.label };
    const key = `${live}\u0000${facts.turn}`;
    const attempt = (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, attempt);
    const exchange = recorded[Math.min(attempt, recorded.length) - 1] as ReplayExchange;
    return { kind: 'exchange', exchange, attempt };
  }
}

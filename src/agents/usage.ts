import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { NewEvent } from '../events/index.ts';

/** Token counts as the Messages API streams them (snake case, every field optional). */
interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** The fields of a streamed Messages API event that matter here. */
interface StreamEvent {
  readonly type: string;
  readonly message?: { id?: string; model?: string; usage?: WireUsage };
  readonly usage?: WireUsage;
}

/** One model response being streamed. */
interface OpenMessage {
  readonly id: string | undefined;
  readonly model: string | undefined;
  readonly startedAt: number;
  firstTokenAt: number | undefined;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** The agent's own conversation, or one subagent's (keyed by the Agent tool call). */
interface Conversation {
  /** When the request now being answered was sent, as far as we can tell. */
  turnStart: number;
  open: OpenMessage | undefined;
  turns: number;
}

/**
 * Turns the SDK's streamed messages (with `includePartialMessages`) into one `agent.usage`
 * event per model response, with its real token counts and timings. Assistant messages alone
 * are not enough: Claude Code sends them as each content block ends, all carrying the usage of
 * `message_start`, whose output count is still 1; the final counts arrive with `message_delta`.
 *
 * Timings: a turn starts when the attempt starts (so the first turn's time to first token
 * includes starting Claude Code), then when the tool results it answers come back, or when
 * the previous response ended (a continuation). `ttftMs` runs to the first content delta,
 * `durationMs` to the end of the message. When no stream events arrive at all (an SDK without
 * partial messages), each assistant message id is counted once from its own usage instead.
 *
 * Stateful but free of I/O: the clock is injected.
 */
export class UsageTracker {
  readonly #agentId: string;
  readonly #now: () => number;
  readonly #conversations = new Map<string, Conversation>();
  /** Ids already reported, so assistant messages of a streamed response are not counted again. */
  readonly #reported = new Set<string>();

  constructor(agentId: string, now: () => number = () => performance.now()) {
    this.#agentId = agentId;
    this.#now = now;
    this.#conversations.set('', { turnStart: now(), open: undefined, turns: 0 });
  }

  /** The events one SDK message adds (usually none; one `agent.usage` at the end of a response). */
  observe(message: SDKMessage): NewEvent[] {
    if (message.type === 'stream_event') {
      return this.#onStream(message.event as unknown as StreamEvent, message.parent_tool_use_id);
    }
    if (message.type === 'user') {
      // Tool results (or a subagent's prompt): the next request leaves now.
      this.#conversation(message.parent_tool_use_id).turnStart = this.#now();
      return [];
    }
    if (message.type === 'assistant' && message.error === undefined) {
      const id = message.message.id;
      const conversation = this.#conversation(message.parent_tool_use_id);
      if (id === undefined || this.#reported.has(id) || conversation.open?.id === id) return [];
      // No stream events for this response: count it once, from the assistant message itself.
      const open = this.#open(id, message.message.model, message.message.usage as WireUsage, conversation.turnStart);
      return this.#close(open, conversation, message.parent_tool_use_id);
    }
    return [];
  }

  /** Reports a response cut off before its end (interrupt, timeout, broken stream). */
  flush(): NewEvent[] {
    const events: NewEvent[] = [];
    for (const [key, conversation] of this.#conversations) {
      if (conversation.open) events.push(...this.#close(conversation.open, conversation, key || null));
    }
    return events;
  }

  #onStream(event: StreamEvent, parent: string | null): NewEvent[] {
    const conversation = this.#conversation(parent);
    switch (event.type) {
      case 'message_start': {
        const message = event.message;
        // A response that never ended (a retried, cut stream) is superseded by the new one.
        conversation.open = this.#open(message?.id, message?.model, message?.usage, conversation.turnStart);
        return [];
      }
      case 'content_block_delta':
        if (conversation.open && conversation.open.firstTokenAt === undefined) {
          conversation.open.firstTokenAt = this.#now();
        }
        return [];
      case 'message_delta': {
        const open = conversation.open;
        const usage = event.usage;
        if (open && usage) {
          // The final counts; input and cache figures only when the API repeats them here.
          open.outputTokens = Math.max(open.outputTokens, usage.output_tokens ?? 0);
          open.inputTokens = Math.max(open.inputTokens, usage.input_tokens ?? 0);
          open.cacheReadTokens = Math.max(open.cacheReadTokens, usage.cache_read_input_tokens ?? 0);
          open.cacheCreationTokens = Math.max(open.cacheCreationTokens, usage.cache_creation_input_tokens ?? 0);
        }
        return [];
      }
      case 'message_stop':
        return conversation.open ? this.#close(conversation.open, conversation, parent) : [];
      default:
        return [];
    }
  }

  #conversation(parent: string | null): Conversation {
    const key = parent ?? '';
    let conversation = this.#conversations.get(key);
    if (!conversation) {
      conversation = { turnStart: this.#now(), open: undefined, turns: 0 };
      this.#conversations.set(key, conversation);
    }
    return conversation;
  }

  #open(id: string | undefined, model: string | undefined, usage: WireUsage | undefined, startedAt = this.#now()) {
    return {
      id,
      model,
      startedAt,
      firstTokenAt: undefined,
      inputTokens: usage?.input_tokens ?? 0,
      outputTokens: usage?.output_tokens ?? 0,
      cacheReadTokens: usage?.cache_read_input_tokens ?? 0,
      cacheCreationTokens: usage?.cache_creation_input_tokens ?? 0,
    } satisfies OpenMessage;
  }

  #close(open: OpenMessage, conversation: Conversation, parent: string | null): NewEvent[] {
    const now = this.#now();
    conversation.open = undefined;
    conversation.turnStart = now;
    conversation.turns++;
    if (open.id !== undefined) this.#reported.add(open.id);
    const round = (ms: number) => Math.max(0, Math.round(ms));
    return [
      {
        type: 'agent.usage',
        data: {
          agentId: this.#agentId,
          ...(open.model !== undefined && { model: open.model }),
          ...(open.id !== undefined && { messageId: open.id }),
          inputTokens: open.inputTokens,
          outputTokens: open.outputTokens,
          cacheReadTokens: open.cacheReadTokens,
          cacheCreationTokens: open.cacheCreationTokens,
          ...(parent !== null && { subagentId: parent }),
          ...(open.firstTokenAt !== undefined && { ttftMs: round(open.firstTokenAt - open.startedAt) }),
          durationMs: round(now - open.startedAt),
          turn: conversation.turns,
        },
      },
    ];
  }
}

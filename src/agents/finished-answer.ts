import { STRUCTURED_OUTPUT_TOOL } from './sdk-options.ts';

interface Block {
  readonly type?: string;
  readonly text?: string;
  readonly name?: string;
  readonly input?: unknown;
  readonly is_error?: boolean;
}

interface Entry {
  readonly type?: string;
  readonly isSidechain?: boolean;
  readonly message?: { readonly role?: string; readonly stop_reason?: string | null; readonly content?: unknown };
}

/**
 * The answer a conversation had already given when its process ended, read from its mirrored
 * transcript: the last main-chain assistant message, when it ended the turn (`end_turn`) and
 * nothing came after it. With `structured`, the answer is the input of a last `StructuredOutput`
 * call that was not refused. Undefined when the conversation was still going (a tool call
 * without its result, a user turn after the answer), so that the agent is asked to carry on
 * instead. This is what spares a resume from re-sending a whole conversation for an answer
 * Claude Code already received.
 */
export function finishedAnswer(
  entries: readonly unknown[],
  structured: boolean,
): { readonly output: unknown } | undefined {
  const chain = (entries as Entry[]).filter(
    (e) => (e?.type === 'assistant' || e?.type === 'user') && e.isSidechain !== true && e.message,
  );
  const last = chain.at(-1);
  if (!last) return undefined;
  const blocks = contentBlocks(last.message?.content);
  if (structured) return lastStructuredOutput(chain);
  if (last.type !== 'assistant' || last.message?.stop_reason !== 'end_turn') return undefined;
  if (blocks.some((b) => b.type === 'tool_use')) return undefined;
  const text = blocks
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text)
    .join('');
  return text.trim() === '' ? undefined : { output: text };
}

function lastStructuredOutput(chain: readonly Entry[]): { output: unknown } | undefined {
  // The StructuredOutput call ends the query: at most its (successful) tool result follows.
  for (let i = chain.length - 1; i >= 0 && i >= chain.length - 2; i--) {
    const entry = chain[i] as Entry;
    const blocks = contentBlocks(entry.message?.content);
    if (entry.type === 'user') {
      if (blocks.some((b) => b.type === 'tool_result' && b.is_error === true)) return undefined;
      continue;
    }
    const call = blocks.findLast((b) => b.type === 'tool_use' && b.name === STRUCTURED_OUTPUT_TOOL);
    return call && call.input !== undefined ? { output: call.input } : undefined;
  }
  return undefined;
}

function contentBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

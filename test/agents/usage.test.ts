import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import { UsageTracker } from '../../src/agents/index.ts';

// Message shapes as Claude Code 2.1.331 streams them with includePartialMessages (trimmed to
// the fields the tracker reads): the assistant messages repeat message_start's usage, whose
// output count is 1; the real count comes with message_delta.

const msg = (value: Record<string, unknown>) => value as unknown as SDKMessage;
const stream = (event: Record<string, unknown>, parent: string | null = null) =>
  msg({ type: 'stream_event', event, parent_tool_use_id: parent });
const usage = (input: number, output: number, read = 0, write = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_input_tokens: read,
  cache_creation_input_tokens: write,
});

/** A clock the test moves by hand. */
function clock(start = 1000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function response(id: string, parent: string | null, input: Record<string, number>, output: number): SDKMessage[] {
  return [
    stream({ type: 'message_start', message: { id, model: 'claude-opus-5-5', usage: input } }, parent),
    stream({ type: 'content_block_start' }, parent),
    stream({ type: 'content_block_delta' }, parent),
    msg({
      type: 'assistant',
      parent_tool_use_id: parent,
      message: { id, model: 'claude-opus-5-5', usage: input, content: [] },
    }),
    stream({ type: 'content_block_stop' }, parent),
    stream({ type: 'message_delta', usage: { ...input, output_tokens: output } }, parent),
    stream({ type: 'message_stop' }, parent),
  ];
}

describe('UsageTracker', () => {
  it('reports one agent.usage per response with its final counts and timings', () => {
    const time = clock();
    const tracker = new UsageTracker('agt_1', time.now);
    const events = [];
    time.advance(400); // Claude Code starting up
    const [start, blockStart, delta, ...rest] = response('msg_1', null, usage(1000, 1, 300, 200), 50);
    events.push(...tracker.observe(start as SDKMessage), ...tracker.observe(blockStart as SDKMessage));
    time.advance(100);
    events.push(...tracker.observe(delta as SDKMessage));
    time.advance(50);
    for (const message of rest) events.push(...tracker.observe(message));
    expect(events).toEqual([
      {
        type: 'agent.usage',
        data: {
          agentId: 'agt_1',
          model: 'claude-opus-5-5',
          messageId: 'msg_1',
          inputTokens: 1000,
          outputTokens: 50,
          cacheReadTokens: 300,
          cacheCreationTokens: 200,
          ttftMs: 500,
          durationMs: 550,
          turn: 1,
        },
      },
    ]);

    // Tool results go back; the next turn is timed from them.
    time.advance(2000);
    expect(tracker.observe(msg({ type: 'user', parent_tool_use_id: null, message: { content: [] } }))).toEqual([]);
    time.advance(30);
    const second = response('msg_2', null, usage(1200, 1), 20).flatMap((m) => tracker.observe(m));
    expect(second).toHaveLength(1);
    expect(second[0]?.data).toMatchObject({
      messageId: 'msg_2',
      inputTokens: 1200,
      outputTokens: 20,
      ttftMs: 30,
      turn: 2,
    });
  });

  it('keeps a subagent apart and names it', () => {
    const time = clock();
    const tracker = new UsageTracker('agt_1', time.now);
    const out = [
      ...response('msg_sub', 'toolu_agent', usage(10, 1), 5),
      ...response('msg_main', null, usage(20, 1), 7),
    ].flatMap((m) => tracker.observe(m));
    expect(out.map((e) => e.data)).toMatchObject([
      { messageId: 'msg_sub', subagentId: 'toolu_agent', outputTokens: 5, turn: 1 },
      { messageId: 'msg_main', outputTokens: 7, turn: 1 },
    ]);
    expect(out[1]?.data).not.toHaveProperty('subagentId');
  });

  it('counts an assistant message once from its own usage when no stream events come', () => {
    const tracker = new UsageTracker('agt_1', clock().now);
    const block = (id: string) =>
      msg({
        type: 'assistant',
        parent_tool_use_id: null,
        message: { id, model: 'm', usage: usage(5, 3), content: [] },
      });
    const out = [block('a'), block('a'), block('b')].flatMap((m) => tracker.observe(m));
    expect(out.map((e) => (e.data as { messageId: string }).messageId)).toEqual(['a', 'b']);
    // Synthetic API error messages are not model responses.
    expect(
      tracker.observe(
        msg({ type: 'assistant', error: 'rate_limit', parent_tool_use_id: null, message: { id: 'c', content: [] } }),
      ),
    ).toEqual([]);
  });

  it('reports a response cut off mid-stream on flush, once', () => {
    const tracker = new UsageTracker('agt_1', clock().now);
    const [start, , delta] = response('msg_cut', null, usage(700, 1), 90);
    tracker.observe(start as SDKMessage);
    tracker.observe(delta as SDKMessage);
    const cut = tracker.flush();
    expect(cut.map((e) => e.data)).toMatchObject([{ messageId: 'msg_cut', inputTokens: 700, outputTokens: 1 }]);
    expect(tracker.flush()).toEqual([]);
  });
});

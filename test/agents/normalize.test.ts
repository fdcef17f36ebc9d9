import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import { normalizeSdkMessage, previewToolResult } from '../../src/agents/index.ts';

// Shapes as Claude Code 2.1.331 sends them (trimmed to the fields the normalizer reads).
const msg = (value: Record<string, unknown>) => value as unknown as SDKMessage;
const agentId = 'agt_1';

describe('normalizeSdkMessage', () => {
  it('turns system/init into an init progress event and the thinking state', () => {
    const out = normalizeSdkMessage(
      msg({ type: 'system', subtype: 'init', model: 'claude-opus-5-5', tools: ['Read', 'Bash'], session_id: 's1' }),
      agentId,
    );
    expect(out).toEqual({
      events: [
        {
          type: 'agent.progress',
          data: {
            agentId,
            kind: 'init',
            text: 'model claude-opus-5-5, 2 tools',
            sdkSessionId: 's1',
            tools: ['Read', 'Bash'],
          },
        },
      ],
      state: 'thinking',
    });
  });

  it('records text blocks as messages (responding) and tool calls as tool_use (using_tools)', () => {
    const text = normalizeSdkMessage(
      msg({ type: 'assistant', parent_tool_use_id: null, message: { content: [{ type: 'text', text: 'Hi' }] } }),
      agentId,
    );
    expect(text).toEqual({ events: [{ type: 'agent.message', data: { agentId, text: 'Hi' } }], state: 'responding' });
    const tools = normalizeSdkMessage(
      msg({
        type: 'assistant',
        parent_tool_use_id: null,
        message: {
          content: [
            { type: 'text', text: '' },
            { type: 'tool_use', id: 'tu1', name: 'Write', input: { file_path: 'a' } },
          ],
        },
      }),
      agentId,
    );
    expect(tools).toEqual({
      events: [
        { type: 'agent.tool_use', data: { agentId, toolUseId: 'tu1', tool: 'Write', input: { file_path: 'a' } } },
      ],
      state: 'using_tools',
    });
  });

  it('marks messages, tool calls and results of a subagent with its id', () => {
    const call = normalizeSdkMessage(
      msg({
        type: 'assistant',
        parent_tool_use_id: 'tu_agent',
        agent_id: 'a123',
        message: { content: [{ type: 'tool_use', id: 'tu2', name: 'Bash', input: { command: 'ls' } }] },
      }),
      agentId,
    );
    expect(call.events[0]?.data).toMatchObject({ subagentId: 'a123' });
    const result = normalizeSdkMessage(
      msg({
        type: 'user',
        parent_tool_use_id: 'tu_agent',
        agent_id: 'a123',
        message: { content: [{ type: 'tool_result', tool_use_id: 'tu2', content: 'out', is_error: false }] },
      }),
      agentId,
    );
    expect(result).toEqual({
      events: [
        {
          type: 'agent.tool_result',
          data: { agentId, toolUseId: 'tu2', isError: false, content: 'out', subagentId: 'a123' },
        },
      ],
      state: 'thinking',
    });
    // Without Claude Code's agent id, the Agent tool call's id names the subagent.
    const legacy = normalizeSdkMessage(
      msg({ type: 'assistant', parent_tool_use_id: 'tu_agent', message: { content: [{ type: 'text', text: 'x' }] } }),
      agentId,
    );
    expect(legacy.events[0]?.data).toMatchObject({ subagentId: 'tu_agent' });
  });

  it('reports a synthetic API error message as progress, not as something the model said', () => {
    const out = normalizeSdkMessage(
      msg({
        type: 'assistant',
        parent_tool_use_id: null,
        error: 'server_error',
        message: { content: [{ type: 'text', text: 'API Error: 529 Overloaded' }] },
      }),
      agentId,
    );
    expect(out).toEqual({
      events: [
        {
          type: 'agent.progress',
          data: { agentId, kind: 'api_error', text: 'server_error: API Error: 529 Overloaded' },
        },
      ],
    });
  });

  it('records tool errors, and ignores user messages without tool results', () => {
    const out = normalizeSdkMessage(
      msg({
        type: 'user',
        parent_tool_use_id: null,
        message: {
          content: [{ type: 'tool_result', tool_use_id: 't', is_error: true, content: [{ type: 'text', text: 'no' }] }],
        },
      }),
      agentId,
    );
    expect(out.events[0]?.data).toEqual({ agentId, toolUseId: 't', isError: true, content: 'no' });
    expect(
      normalizeSdkMessage(msg({ type: 'user', parent_tool_use_id: null, message: { content: 'hello' } }), agentId),
    ).toEqual({
      events: [],
    });
    expect(
      normalizeSdkMessage(
        msg({ type: 'user', parent_tool_use_id: null, message: { content: [{ type: 'text', text: 'x' }] } }),
        agentId,
      ),
    ).toEqual({ events: [] });
  });

  it("records the SDK's mirror_error (a transcript batch the SessionStore refused) as progress", () => {
    const out = normalizeSdkMessage(
      msg({
        type: 'system',
        subtype: 'mirror_error',
        error: 'STORE_UNAVAILABLE: down',
        key: { projectKey: '-work-x', sessionId: 'sess-1', subpath: 'subagents/agent-a' },
        uuid: '00000000-0000-0000-0000-000000000000',
        session_id: 'sess-1',
      }),
      agentId,
    );
    expect(out).toEqual({
      events: [
        {
          type: 'agent.progress',
          data: {
            agentId,
            kind: 'mirror_error',
            text: 'transcript sess-1/subagents/agent-a not stored: STORE_UNAVAILABLE: down',
          },
        },
      ],
    });
  });

  it("turns Claude Code's api_retry into an agent.retry by 'sdk' and the waiting state", () => {
    const out = normalizeSdkMessage(
      msg({
        type: 'system',
        subtype: 'api_retry',
        attempt: 1,
        max_retries: 2,
        retry_delay_ms: 505,
        error_status: 429,
        error: 'rate_limit',
      }),
      agentId,
    );
    expect(out).toEqual({
      events: [
        {
          type: 'agent.retry',
          data: {
            agentId,
            by: 'sdk',
            attempt: 1,
            maxAttempts: 2,
            delayMs: 505,
            errorStatus: 429,
            reason: 'rate_limit',
          },
        },
      ],
      state: 'waiting',
    });
  });

  it('records the start and end of background tasks such as subagents', () => {
    const started = normalizeSdkMessage(
      msg({ type: 'system', subtype: 'task_started', task_id: 'a1', description: 'help me', subagent_type: 'helper' }),
      agentId,
    );
    expect(started.events[0]?.data).toEqual({
      agentId,
      kind: 'task_started',
      text: 'help me (helper)',
      taskId: 'a1',
      subagentId: 'a1',
    });
    const finished = normalizeSdkMessage(
      msg({
        type: 'system',
        subtype: 'task_notification',
        task_id: 'a1',
        status: 'completed',
        summary: 'ok',
        output_file: 'f',
      }),
      agentId,
    );
    expect(finished.events[0]?.data).toEqual({ agentId, kind: 'task_finished', text: 'completed: ok', taskId: 'a1' });
  });

  it('reports tool progress and ignores messages without meaning for the log', () => {
    const out = normalizeSdkMessage(
      msg({ type: 'tool_progress', tool_name: 'Bash', elapsed_time_seconds: 2.6 }),
      agentId,
    );
    expect(out.events[0]?.data).toEqual({ agentId, kind: 'tool_progress', text: 'Bash 3s' });
    expect(normalizeSdkMessage(msg({ type: 'system', subtype: 'status' }), agentId)).toEqual({ events: [] });
    expect(normalizeSdkMessage(msg({ type: 'stream_event' }), agentId)).toEqual({ events: [] });
  });
});

describe('previewToolResult', () => {
  it('joins text blocks, names other blocks and bounds the length', () => {
    expect(previewToolResult([{ type: 'text', text: 'a' }, { type: 'image' }])).toBe('a\n[image]');
    expect(previewToolResult(undefined)).toBe('');
    expect(previewToolResult({ k: 1 })).toBe('{"k":1}');
    const long = previewToolResult('x'.repeat(5000));
    expect(long.length).toBe(2001);
    expect(long.endsWith('…')).toBe(true);
  });
});

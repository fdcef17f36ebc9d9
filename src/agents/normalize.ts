import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { AgentState, NewEvent } from '../events/index.ts';

/** Longest tool result text kept in an event; the full text stays in the SDK transcript. */
export const TOOL_RESULT_PREVIEW_CHARS = 2000;

/** What one SDK message means for the agent: events to record and the state it moves to. */
export interface NormalizedMessage {
  readonly events: NewEvent[];
  /** The next state, when the message changes it. */
  readonly state?: AgentState;
}

/**
 * Turns one SDK message into the orchestrator's events. Pure: no I/O, no clock. The `result`
 * message is not handled here (the runner owns completion, usage and errors), nor are
 * messages with no meaning for the log (hook chatter, status lines).
 */
export function normalizeSdkMessage(message: SDKMessage, agentId: string): NormalizedMessage {
  switch (message.type) {
    case 'system':
      return normalizeSystem(message, agentId);
    case 'assistant': {
      const events: NewEvent[] = [];
      const subagentId = subagentOf(message);
      if (message.error !== undefined) {
        // Claude Code reports an API failure it gave up on as a synthetic assistant message
        // ("API Error: 529 ..."): not something the model said.
        const text = message.message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        return {
          events: [
            {
              type: 'agent.progress',
              data: {
                agentId,
                kind: 'api_error',
                text: `${message.error}: ${text}`,
                ...(subagentId && { subagentId }),
              },
            },
          ],
        };
      }
      let usesTools = false;
      for (const block of message.message.content) {
        if (block.type === 'text' && block.text.length > 0) {
          events.push({
            type: 'agent.message',
            data: { agentId, text: block.text, ...(subagentId && { subagentId }) },
          });
        } else if (block.type === 'tool_use') {
          usesTools = true;
          events.push({
            type: 'agent.tool_use',
            data: {
              agentId,
              toolUseId: block.id,
              tool: block.name,
              input: block.input,
              ...(subagentId && { subagentId }),
            },
          });
        }
      }
      return { events, state: usesTools ? 'using_tools' : 'responding' };
    }
    case 'user': {
      const content = message.message.content;
      if (typeof content === 'string') return { events: [] };
      const events: NewEvent[] = [];
      const subagentId = subagentOf(message);
      for (const block of content) {
        if (block.type !== 'tool_result') continue;
        events.push({
          type: 'agent.tool_result',
          data: {
            agentId,
            toolUseId: block.tool_use_id,
            isError: block.is_error === true,
            content: previewToolResult(block.content),
            ...(subagentId && { subagentId }),
          },
        });
      }
      return events.length > 0 ? { events, state: 'thinking' } : { events };
    }
    case 'tool_progress':
      return {
        events: [
          {
            type: 'agent.progress',
            data: {
              agentId,
              kind: 'tool_progress',
              text: `${message.tool_name} ${Math.round(message.elapsed_time_seconds)}s`,
            },
          },
        ],
      };
    default:
      return { events: [] };
  }
}

function normalizeSystem(message: Extract<SDKMessage, { type: 'system' }>, agentId: string): NormalizedMessage {
  if (message.subtype === 'init') {
    return {
      events: [
        {
          type: 'agent.progress',
          data: {
            agentId,
            kind: 'init',
            text: `model ${message.model}, ${message.tools.length} tools`,
            sdkSessionId: message.session_id,
            // What exists for the agent, as Claude Code itself reports it (the audit's evidence).
            tools: [...message.tools],
          },
        },
      ],
      state: 'thinking',
    };
  }
  if (message.subtype === 'api_retry') {
    return {
      events: [
        {
          type: 'agent.retry',
          data: {
            agentId,
            by: 'sdk',
            attempt: message.attempt,
            maxAttempts: message.max_retries,
            delayMs: message.retry_delay_ms,
            errorStatus: message.error_status,
            reason: message.error,
          },
        },
      ],
      state: 'waiting',
    };
  }
  // Background work of the agent (a subagent, a background shell): its start and end.
  if (message.subtype === 'task_started') {
    const subagent = message.subagent_type ? ` (${message.subagent_type})` : '';
    return {
      events: [
        {
          type: 'agent.progress',
          data: {
            agentId,
            kind: 'task_started',
            text: `${message.description}${subagent}`,
            taskId: message.task_id,
            ...(message.subagent_type && { subagentId: message.task_id }),
          },
        },
      ],
    };
  }
  if (message.subtype === 'task_notification') {
    return {
      events: [
        {
          type: 'agent.progress',
          data: {
            agentId,
            kind: 'task_finished',
            text: `${message.status}: ${message.summary}`,
            taskId: message.task_id,
          },
        },
      ],
    };
  }
  // The SDK dropped a batch of transcript entries its SessionStore refused three times: a
  // later resume from the store would miss them, so it must not go unnoticed.
  if (message.subtype === 'mirror_error') {
    const where = `${message.key.sessionId}${message.key.subpath ? `/${message.key.subpath}` : ''}`;
    return {
      events: [
        {
          type: 'agent.progress',
          data: { agentId, kind: 'mirror_error', text: `transcript ${where} not stored: ${message.error}` },
        },
      ],
    };
  }
  return { events: [] };
}

/** The subagent a message comes from: Claude Code's agent id, else the Agent tool call's id. */
function subagentOf(message: { parent_tool_use_id: string | null; agent_id?: string | undefined }): string | undefined {
  return message.parent_tool_use_id ? (message.agent_id ?? message.parent_tool_use_id) : undefined;
}

/** A bounded, readable text of a tool result's content (string or content blocks). */
export function previewToolResult(content: unknown): string {
  let text: string;
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    text = content
      .map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`))
      .join('\n');
  } else text = content === undefined ? '' : JSON.stringify(content);
  return text.length > TOOL_RESULT_PREVIEW_CHARS ? `${text.slice(0, TOOL_RESULT_PREVIEW_CHARS)}…` : text;
}

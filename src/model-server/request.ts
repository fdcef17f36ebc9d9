import { createHash } from 'node:crypto';
import { type Scenario, type ScenarioScript, type ScenarioTurn, STRUCTURED_OUTPUT_TOOL } from './scenario.ts';

/**
 * Pure reading of a Messages API request: the facts a scenario matches on, the turn number,
 * the conversation key. No I/O, so turn selection is unit-tested on plain objects.
 */

/** What the server needs to know about one `POST /v1/messages` request. */
export interface RequestFacts {
  readonly model: string;
  readonly stream: boolean;
  /** Text of the last `system` block (the orchestrator's system prompt). */
  readonly systemLast: string;
  /** Text of the first user message, with `<system-reminder>` sections removed. */
  readonly firstUserText: string;
  /** How many assistant messages the request carries: the turn number it asks for. */
  readonly turn: number;
  /** Content of the latest `tool_result` in the conversation, as text. */
  readonly lastToolResult: string | undefined;
  /** The conversation: `x-claude-code-session-id`, else a hash of the first user message. */
  readonly conversation: string;
  /**
   * The request still asks for a structured output although the conversation already gave one
   * that was accepted: a conversation resumed after its agent was stopped before its result
   * was taken.
   */
  readonly wantsStructuredOutputAgain: boolean;
}

/** Thrown for a body that is not a Messages API request; the server answers 400. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Concatenated text of a content value (a string, or blocks of which text and tool results count). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const block of content) {
    if (typeof block === 'string') parts.push(block);
    else if (isObject(block) && block.type === 'text' && typeof block.text === 'string') parts.push(block.text);
  }
  return parts.join('\n');
}

const REMINDER = /<system-reminder>[\s\S]*?<\/system-reminder>\s*/g;

function lastSystemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  for (let i = system.length - 1; i >= 0; i--) {
    const block = system[i];
    if (isObject(block) && typeof block.text === 'string') return block.text;
  }
  return '';
}

function latestToolResult(messages: readonly Json[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = messages[i]?.content;
    if (!Array.isArray(content)) continue;
    for (let j = content.length - 1; j >= 0; j--) {
      const block = content[j];
      if (isObject(block) && block.type === 'tool_result') return contentText(block.content);
    }
  }
  return undefined;
}

/** What Claude Code writes into a resumed conversation in place of an answer that never came. */
const SYNTHETIC_ANSWER = /^No response requested\.?$/;
/**
 * Tool results of calls cut short because the agent was stopped (killed shell, interrupted
 * call). Claude Code writes `[Tool call interrupted: the session ended before this call's result
 * was recorded, ...]` for a call its process died in (seen after a SIGKILL during a
 * StructuredOutput call: counting that turn as done left the resumed reviewer out of turns).
 */
const INTERRUPTED_RESULT = /^Exit code (137|143)\b|\[Request interrupted|\[Tool call interrupted|interrupted by user/i;

/**
 * The turn a request asks for: the assistant messages that were real, completed answers. Not
 * counted: messages with role "system" (Claude Code adds some), Claude Code's stand-in answers
 * in a resumed conversation, and a turn whose tool calls never finished because the agent was
 * stopped (killed, interrupted): a conversation resumed after a crash asks for that turn again,
 * as a model would redo the step that did not go through.
 */
export function countTurns(messages: readonly Json[]): number {
  const results = new Map<string, string | undefined>();
  for (const message of messages) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (isObject(block) && block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
        results.set(block.tool_use_id, block.is_error === true ? contentText(block.content) : undefined);
      }
    }
  }
  let turns = 0;
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    const blocks = Array.isArray(message.content) ? message.content.filter(isObject) : [];
    if (blocks.length === 0 && typeof message.content === 'string' && SYNTHETIC_ANSWER.test(message.content.trim()))
      continue;
    if (blocks.length > 0 && blocks.every((b) => b.type === 'text' && SYNTHETIC_ANSWER.test(String(b.text).trim())))
      continue;
    const calls = blocks.filter((b) => b.type === 'tool_use' && typeof b.id === 'string');
    const cutShort = calls.some((call) => {
      const id = call.id as string;
      if (!results.has(id)) return true;
      const error = results.get(id);
      return error !== undefined && INTERRUPTED_RESULT.test(error.trim());
    });
    if (!cutShort) turns++;
  }
  return turns;
}

/** True when the conversation's latest `StructuredOutput` call got a result that is not an error. */
function lastStructuredOutputAccepted(messages: readonly Json[]): boolean {
  let callId: string | undefined;
  for (const message of messages) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (isObject(block) && block.type === 'tool_use' && block.name === STRUCTURED_OUTPUT_TOOL) {
        callId = typeof block.id === 'string' ? block.id : undefined;
      }
    }
  }
  if (callId === undefined) return false;
  for (const message of messages) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (isObject(block) && block.type === 'tool_result' && block.tool_use_id === callId)
        return block.is_error !== true;
    }
  }
  return false;
}

/** A short stable hash, for conversation keys and deterministic ids. */
export function shortHash(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);
}

/**
 * Reads the facts of a Messages API request body.
 * @throws BadRequestError when `model` or `messages` is missing or has the wrong type.
 */
export function readRequest(body: unknown, sessionHeader: string | undefined): RequestFacts {
  if (!isObject(body)) throw new BadRequestError('request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw new BadRequestError('model: expected a string');
  if (!Array.isArray(body.messages)) throw new BadRequestError('messages: expected an array');
  const messages = body.messages.filter(isObject);
  const firstUser = messages.find((m) => m.role === 'user');
  const firstUserText = contentText(firstUser?.content).replace(REMINDER, '').trim();
  return {
    model: body.model,
    stream: body.stream === true,
    systemLast: lastSystemText(body.system),
    firstUserText,
    turn: countTurns(messages),
    lastToolResult: latestToolResult(messages),
    conversation: sessionHeader && sessionHeader.length > 0 ? sessionHeader : `user-${shortHash(firstUserText)}`,
    wantsStructuredOutputAgain:
      Array.isArray(body.tools) &&
      body.tools.some((tool) => isObject(tool) && tool.name === STRUCTURED_OUTPUT_TOOL) &&
      lastStructuredOutputAccepted(messages),
  };
}

/** The first script whose patterns all match the request; `undefined` when none does. */
export function selectScript(scenario: Scenario, facts: RequestFacts): ScenarioScript | undefined {
  return scenario.scripts.find((script) => {
    const match = script.match;
    if (!match) return true;
    return (
      (!match.system || match.system.test(facts.systemLast)) &&
      (!match.user || match.user.test(facts.firstUserText)) &&
      (!match.model || match.model.test(facts.model))
    );
  });
}

/**
 * The scripted turn for the request, or `undefined` when the script has run out of turns.
 * Out of turns, a request that asks again for a structured output the conversation already gave
 * (a conversation resumed after its agent was stopped before its result was taken) gets the
 * script's structured output again, as a model asked once more would repeat its answer.
 */
export function selectTurn(script: ScenarioScript, facts: RequestFacts): ScenarioTurn | undefined {
  const turn = script.turns[facts.turn];
  if (turn || !facts.wantsStructuredOutputAgain) return turn;
  return script.turns.findLast((t) => t.content.some((item) => item.type === 'structured_output'));
}

/** The key attempts are counted under: one per (conversation, script, turn). */
export function attemptKey(facts: RequestFacts, script: ScenarioScript | undefined): string {
  return `${facts.conversation}\u0000${script?.name ?? ''}\u0000${facts.turn}`;
}

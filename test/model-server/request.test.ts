import { describe, expect, it } from 'vitest';
import { parseScenario, readRequest, selectScript, selectTurn } from '../../src/model-server/index.ts';

// A request shaped like Claude Code's: billing block first, the agent's prompt last, a
// system-reminder before the user's text, a role "system" message in the conversation.
function claudeCodeRequest(extra: unknown[] = [], model = 'claude-opus-5-5') {
  return {
    model,
    stream: true,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.331;' },
      { type: 'text', text: 'You are a Claude agent, built on Anthropic Claude Agent SDK.' },
      { type: 'text', text: 'You are the reviewer agent.' },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nReview carefully.\n</system-reminder>\n' },
          { type: 'text', text: 'Review the patch' },
        ],
      },
      { role: 'system', content: '# Environment\nPrimary working directory: /tmp' },
      ...extra,
    ],
  };
}

describe('readRequest', () => {
  it('reads the last system block, the user text without reminders, and counts assistant turns only', () => {
    const facts = readRequest(
      claudeCodeRequest([
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Read', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'first' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't2', name: 'Read', input: {} }] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'second' }] }],
        },
      ]),
      'session-1',
    );
    expect(facts).toEqual({
      model: 'claude-opus-5-5',
      stream: true,
      systemLast: 'You are the reviewer agent.',
      firstUserText: 'Review the patch',
      turn: 2,
      lastToolResult: 'second',
      conversation: 'session-1',
      wantsStructuredOutputAgain: false,
    });
  });

  it('falls back to a hash of the first user message for the conversation', () => {
    const a = readRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, undefined);
    const b = readRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, '');
    const c = readRequest({ model: 'm', messages: [{ role: 'user', content: 'other' }] }, undefined);
    expect(a.conversation).toMatch(/^user-[0-9a-f]{24}$/);
    expect(b.conversation).toBe(a.conversation);
    expect(c.conversation).not.toBe(a.conversation);
    expect(a.systemLast).toBe('');
    expect(a.stream).toBe(false);
  });

  it('rejects bodies that are not Messages API requests', () => {
    expect(() => readRequest([], undefined)).toThrow(/JSON object/);
    expect(() => readRequest({ messages: [] }, undefined)).toThrow(/model/);
    expect(() => readRequest({ model: 'm', messages: 'hi' }, undefined)).toThrow(/messages/);
  });
});

describe('selectScript', () => {
  const scenario = parseScenario(`
scripts:
  - name: haiku-any
    match: { model: haiku }
    turns: [a]
  - name: reviewer-patch
    match: { system: reviewer, user: patch }
    turns: [b]
  - name: reviewer
    match: { system: reviewer }
    turns: [c]
  - name: fallback
    turns: [d]
`);

  it('takes the first script whose every pattern matches', () => {
    expect(selectScript(scenario, readRequest(claudeCodeRequest(), 's'))?.name).toBe('reviewer-patch');
    expect(selectScript(scenario, readRequest(claudeCodeRequest([], 'claude-haiku-5'), 's'))?.name).toBe('haiku-any');
    const other = claudeCodeRequest();
    other.messages[0] = { role: 'user', content: 'Review the plan' };
    expect(selectScript(scenario, readRequest(other, 's'))?.name).toBe('reviewer');
    expect(selectScript(scenario, readRequest({ model: 'm', messages: [] }, 's'))?.name).toBe('fallback');
  });

  it('returns undefined when no script matches and there is no catch-all', () => {
    const strict = parseScenario('scripts: [{ match: { user: never }, turns: [x] }]');
    expect(selectScript(strict, readRequest(claudeCodeRequest(), 's'))).toBeUndefined();
  });
});

describe('selectTurn', () => {
  const turnOf = (count: number, wantsStructuredOutputAgain = false) => ({
    ...readRequest(
      claudeCodeRequest(Array.from({ length: count }, () => ({ role: 'assistant', content: 'x' }))),
      undefined,
    ),
    wantsStructuredOutputAgain,
  });

  it('answers turn N to a request carrying N assistant messages, and nothing once out of turns', () => {
    const [script] = parseScenario('scripts: [{ turns: [first, second] }]').scripts;
    expect(selectTurn(script as never, turnOf(1))?.content).toEqual([{ type: 'text', text: 'second' }]);
    expect(selectTurn(script as never, turnOf(2))).toBeUndefined();
  });

  it('gives an accepted structured output again when it is asked for once more (a resumed conversation)', () => {
    const [script] = parseScenario(
      'scripts: [{ turns: [{ content: [{ text: thinking }] }, { content: [{ structured_output: { verdict: ok } }] }] }]',
    ).scripts;
    expect(selectTurn(script as never, turnOf(5))).toBeUndefined();
    expect(selectTurn(script as never, turnOf(5, true))?.content).toEqual([
      { type: 'structured_output', value: { verdict: 'ok' } },
    ]);
  });
});

describe('countTurns', () => {
  const call = (id: string) => ({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'Bash', input: {} }] });
  const result = (id: string, content: string, isError = false) => ({
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: id, content, is_error: isError }],
  });

  it('counts completed answers, including tool calls that failed on their own', () => {
    const turn = readRequest(
      claudeCodeRequest([call('t1'), result('t1', 'ok'), call('t2'), result('t2', 'No such file', true)]),
      undefined,
    ).turn;
    expect(turn).toBe(2);
  });

  it('does not count a turn cut short by a stop, nor the stand-in answer of a resumed conversation', () => {
    const resumed = readRequest(
      claudeCodeRequest([
        call('t1'),
        result('t1', 'ok'),
        call('t2'),
        result('t2', 'Exit code 137', true),
        { role: 'assistant', content: [{ type: 'text', text: 'No response requested.' }] },
        { role: 'user', content: 'carry on' },
      ]),
      undefined,
    );
    expect(resumed.turn).toBe(1);
    // What Claude Code records for a call its process died in (a SIGKILL), before the stand-in answer.
    const died = readRequest(
      claudeCodeRequest([
        call('t1'),
        result('t1', 'ok'),
        call('t2'),
        result(
          't2',
          "[Tool call interrupted: the session ended before this call's result was recorded, so its outcome is unknown. Check whether it took effect before relying on it or running it again.]",
          true,
        ),
        { role: 'assistant', content: [{ type: 'text', text: 'No response requested.' }] },
        { role: 'user', content: 'carry on' },
      ]),
      undefined,
    );
    expect(died.turn).toBe(1);
    const unanswered = readRequest(claudeCodeRequest([call('t1'), { role: 'user', content: 'carry on' }]), undefined);
    expect(unanswered.turn).toBe(0);
  });
});

describe('wantsStructuredOutputAgain', () => {
  const tools = [{ name: 'StructuredOutput', input_schema: { type: 'object' } }];
  const call = { role: 'assistant', content: [{ type: 'tool_use', id: 'so1', name: 'StructuredOutput', input: {} }] };
  const withResult = (isError: boolean) => ({
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: 'so1', content: isError ? 'must be <= 3' : 'ok', is_error: isError }],
  });

  it('holds only when the last StructuredOutput call was accepted and the tool is still offered', () => {
    const ask = (extra: unknown[], offered = tools) =>
      readRequest({ ...claudeCodeRequest(extra), tools: offered }, undefined).wantsStructuredOutputAgain;
    expect(ask([call, withResult(false), { role: 'user', content: 'carry on' }])).toBe(true);
    expect(ask([call, withResult(true), { role: 'assistant', content: 'I cannot.' }])).toBe(false);
    expect(ask([call, withResult(false)], [])).toBe(false);
    expect(ask([])).toBe(false);
  });
});

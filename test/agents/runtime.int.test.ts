import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime, AgentToolHost } from '../../src/agents/index.ts';
import { type AgentKit, dataOf, startAgentKit, statesOf, testSpec, waitFor } from '../support/agent-kit.ts';

// The agent runtime on the real SDK and Claude Code binary against the scripted model server:
// one server and one runtime for the file, one script per test chosen by the prompt.

const scenario = `
name: agent-runtime
scripts:
  - name: plain
    match: { user: '^Say hello$' }
    turns:
      - content: [{ text: Hello from the scripted model. }]
        usage: { input_tokens: 120, output_tokens: 7 }
  - name: write
    match: { user: '^Write the greeting$' }
    turns:
      - content:
          - text: Writing it.
          - tool_use: { name: Write, input: { file_path: greeting.txt, content: "hello, file\\n" } }
      - 'Written: {{last_tool_result}}'
  - name: rate-limited
    match: { user: '^Survive a rate limit$' }
    turns:
      - content: [{ text: Recovered. }]
        fault: { status: 429, retry_after: 0.1, times: 1 }
  - name: overloaded
    match: { user: '^Stay overloaded$' }
    turns:
      - content: []
        fault: { status: 529, times: always }
  - name: denied
    match: { user: '^Try the shell$' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: 'touch pwned.txt', description: Create a file } }
      - 'Tool said: {{last_tool_result}}'
  - name: delegator
    match: { user: '^Delegate the work$' }
    turns:
      - content:
          - tool_use: { name: Agent, input: { subagent_type: helper, description: Do the work, prompt: Create the file } }
      - Delegated.
  - name: helper
    match: { system: 'You are the helper subagent' }
    turns:
      - content:
          - tool_use: { name: Bash, input: { command: 'touch sub-pwned.txt', description: Create a file } }
      - 'Helper saw: {{last_tool_result}}'
  - name: memory
    match: { user: '^Use the memory$' }
    turns:
      - content:
          - tool_use: { name: mcp__orchestrator__memory_set, input: { key: plan, value: { steps: 2, owner: ada } } }
      - content:
          - tool_use: { name: mcp__orchestrator__memory_get, input: { key: plan } }
      - 'Memory said: {{last_tool_result}}'
`;

let kit: AgentKit;
let runtime: AgentRuntime;

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 1 } });
  // No periodic memory samples: these tests check the exact events of an agent, and a sample
  // (source `runtime`) lands among them whenever an agent outlives the interval (5 s), as on a
  // slow machine. Samples have tests of their own (usage.int.test.ts).
  runtime = kit.runtime({ maxConcurrent: 2, resourceSampleMs: 0 });
});

afterAll(async () => {
  await kit?.cleanup();
});

function requestsOf(script: string) {
  return kit.server.requests.filter((request) => request.script === script);
}

describe('AgentRuntime on the real SDK', () => {
  it('runs a plain task to completion and records it in order', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('plain');
    const seen: string[] = [];
    const handle = runtime.spawn({
      sessionId,
      spec: testSpec(),
      prompt: 'Say hello',
      cwd,
      onEvent: (event) => seen.push(event.type),
    });
    const result = await handle.result;

    expect(result).toMatchObject({
      ok: true,
      text: 'Hello from the scripted model.',
      agentId: handle.agentId,
      attempts: 1,
    });
    const events = await kit.events(sessionId);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('agent.spawned');
    expect(events[0]?.data).toMatchObject({ agentId: handle.agentId, agentType: 'tester', task: 'Say hello' });
    expect(statesOf(events, handle.agentId)).toEqual([
      'waiting',
      'initializing',
      'thinking',
      'responding',
      'completed',
    ]);
    expect(dataOf(events, 'agent.message')).toEqual([
      { agentId: handle.agentId, text: 'Hello from the scripted model.' },
    ]);
    const completed = dataOf(events, 'agent.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      agentId: handle.agentId,
      output: 'Hello from the scripted model.',
      usage: { inputTokens: 120, outputTokens: 7, cacheReadTokens: 0, cacheCreationTokens: 0 },
      turns: 1,
      attempt: 1,
    });
    expect(completed[0]?.costUsd).toBeGreaterThan(0);
    expect(completed[0]?.sdkSessionId).toEqual(result.sdkSessionId);
    // Order: the message before completion, completion before the final state.
    const types = events.map((event) => event.type);
    expect(types.indexOf('agent.message')).toBeLessThan(types.indexOf('agent.completed'));
    expect(types.at(-1)).toBe('agent.state_changed');
    expect(events.every((event) => event.source === `agent:${handle.agentId}`)).toBe(true);
    // onEvent saw the same committed events in the same order.
    expect(seen).toEqual(types);
    // After a clean exit the runtime sweeps what the agent left (Claude Code's sandbox can leave
    // its socat bridge for a moment) off the agent's critical path: gone within the sweep's bound.
    await waitFor(() => kit.ownProcesses().length === 0, 3000);
    expect(kit.ownProcesses()).toEqual([]);
  });

  it('runs an allowed Write for real in the working directory', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('write');
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: ['Write'] }),
      prompt: 'Write the greeting',
      cwd,
    }).result;

    expect(await readFile(join(cwd, 'greeting.txt'), 'utf8')).toBe('hello, file\n');
    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    const use = dataOf(events, 'agent.tool_use');
    expect(use).toEqual([
      expect.objectContaining({ tool: 'Write', input: { file_path: 'greeting.txt', content: 'hello, file\n' } }),
    ]);
    const toolUseId = use[0]?.toolUseId;
    // Claude Code's own allow rule let it run; the audit says so, with a digest of the input.
    expect(dataOf(events, 'security.decision')).toEqual([
      expect.objectContaining({
        tool: 'Write',
        decision: 'allow',
        by: 'claude-code',
        toolUseId,
        inputDigest: expect.stringMatching(/^[0-9a-f]{16}$/),
      }),
    ]);
    expect(dataOf(events, 'agent.tool_result')).toEqual([expect.objectContaining({ toolUseId, isError: false })]);
    const types = events.map((event) => event.type);
    expect(types.indexOf('agent.tool_use')).toBeLessThan(types.indexOf('security.decision'));
    expect(types.indexOf('security.decision')).toBeLessThan(types.indexOf('agent.tool_result'));
    expect(statesOf(events, result.agentId)).toContain('using_tools');
  });

  it("survives a 429 with retry-after through Claude Code's own retry", async () => {
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec(),
      prompt: 'Survive a rate limit',
      cwd: await kit.workspace('rate'),
    }).result;

    expect(result).toMatchObject({ ok: true, text: 'Recovered.', attempts: 1 });
    const events = await kit.events(sessionId);
    const retries = dataOf(events, 'agent.retry');
    expect(retries).toEqual([expect.objectContaining({ by: 'sdk', attempt: 1, errorStatus: 429 })]);
    expect(retries[0]?.delayMs).toBeGreaterThan(0);
    expect(dataOf(events, 'agent.failed')).toEqual([]);
    expect(requestsOf('rate-limited').map((r) => r.answer)).toEqual(['fault', 'turn']);
  });

  it('fails with a typed, retryable AGENT_OVERLOADED and retries per spec.retry', async () => {
    const sessionId = kit.session();
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ retry: { attempts: 2, initialDelayMs: 5, maxDelayMs: 10 } }),
      prompt: 'Stay overloaded',
      cwd: await kit.workspace('overloaded'),
    }).result;

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({ code: 'AGENT_OVERLOADED', retryable: true, details: { status: 529 } });
    expect(result.attempts).toBe(2);
    const events = await kit.events(sessionId);
    expect(
      dataOf(events, 'agent.failed').map((d) => [d.attempt, d.willRetry, (d.error as { code: string }).code]),
    ).toEqual([
      [1, true, 'AGENT_OVERLOADED'],
      [2, false, 'AGENT_OVERLOADED'],
    ]);
    const retries = dataOf(events, 'agent.retry');
    expect(retries.filter((d) => d.by === 'orchestrator')).toEqual([
      expect.objectContaining({ attempt: 2, maxAttempts: 2, reason: 'AGENT_OVERLOADED' }),
    ]);
    // CLAUDE_CODE_MAX_RETRIES=1: one retry inside each attempt, announced by Claude Code.
    expect(retries.filter((d) => d.by === 'sdk').map((d) => d.errorStatus)).toEqual([529, 529]);
    expect(requestsOf('overloaded')).toHaveLength(4);
    // Claude Code's "API Error" text is not recorded as something the model said.
    expect(dataOf(events, 'agent.message')).toEqual([]);
    expect(dataOf(events, 'agent.progress').filter((d) => d.kind === 'api_error')).toHaveLength(2);
    expect(statesOf(events, result.agentId).at(-1)).toBe('error');
    expect(dataOf(events, 'agent.completed')).toEqual([]);
  });

  it('gives the agent only the built-in tools its type lists: another one does not exist', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('denied');
    const result = await runtime.spawn({ sessionId, spec: testSpec({ tools: ['Read'] }), prompt: 'Try the shell', cwd })
      .result;

    expect(existsSync(join(cwd, 'pwned.txt'))).toBe(false);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.text).toContain('No such tool available: Bash');
    const events = await kit.events(sessionId);
    expect(dataOf(events, 'security.policy')).toEqual([
      expect.objectContaining({ tools: ['Read'], allow: ['Read'], sandbox: 'off', sandboxOff: 'no Bash tool' }),
    ]);
    // The model got the error as the tool result and answered a second turn.
    expect(requestsOf('denied').map((r) => r.turn)).toEqual([0, 1]);
  });

  it('refuses a command outside the allow rules: Claude Code asks, the agent type says no', async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('refused');
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: ['Bash(echo *)'] }),
      prompt: 'Try the shell',
      cwd,
    }).result;

    expect(existsSync(join(cwd, 'pwned.txt'))).toBe(false);
    expect(result.ok).toBe(true);
    const events = await kit.events(sessionId);
    expect(dataOf(events, 'security.decision')).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        decision: 'deny',
        by: 'policy',
        reason: expect.stringContaining("not covered by the agent type's allow rules"),
      }),
    ]);
    expect(dataOf(events, 'agent.tool_result')).toEqual([
      expect.objectContaining({ isError: true, content: expect.stringContaining('not covered') }),
    ]);
  });

  it("holds a subagent to its parent's policy, whatever the subagent's own definition says", async () => {
    const sessionId = kit.session();
    const cwd = await kit.workspace('subagent');
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({
        tools: ['Read', 'Agent', 'Bash(echo *)'],
        subagents: {
          helper: { description: 'Does the work', prompt: 'You are the helper subagent.', tools: ['Bash'] },
        },
      }),
      prompt: 'Delegate the work',
      cwd,
    }).result;

    expect(result.ok).toBe(true);
    expect(existsSync(join(cwd, 'sub-pwned.txt'))).toBe(false);
    const events = await kit.events(sessionId);
    const decisions = dataOf(events, 'security.decision');
    expect(decisions.find((d) => d.tool === 'Agent')).toMatchObject({ decision: 'allow' });
    const bash = decisions.filter((d) => d.tool === 'Bash');
    expect(bash).toEqual([expect.objectContaining({ decision: 'deny', subagentId: expect.any(String) })]);
    const subagentId = bash[0]?.subagentId;
    // The subagent's own tool call and its refused result carry the same subagent id.
    expect(dataOf(events, 'agent.tool_use').find((d) => d.tool === 'Bash')).toMatchObject({ subagentId });
    expect(dataOf(events, 'agent.tool_result').find((d) => d.isError === true)).toMatchObject({ subagentId });
    expect(dataOf(events, 'agent.message').find((d) => d.subagentId === subagentId)?.text).toContain('not covered');
    expect(requestsOf('helper').map((r) => r.turn)).toEqual([0, 1]);
  });

  it("serves the orchestrator's memory tools to the agent through its tool host", async () => {
    const sessionId = kit.session();
    const memory = new Map<string, unknown>();
    const calls: string[] = [];
    const toolHost: AgentToolHost = {
      async memoryGet(key) {
        calls.push(`get ${key}`);
        return memory.get(key);
      },
      async memorySet(key, value) {
        calls.push(`set ${key}`);
        memory.set(key, value);
      },
      async memoryList() {
        return [...memory.keys()];
      },
    };
    // No built-in tool at all: the orchestrator's own tools are there and allowed regardless.
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec({ tools: [] }),
      prompt: 'Use the memory',
      cwd: await kit.workspace('memory'),
      toolHost,
    }).result;

    expect(calls).toEqual(['set plan', 'get plan']);
    expect(memory.get('plan')).toEqual({ steps: 2, owner: 'ada' });
    expect(result).toMatchObject({ ok: true, text: 'Memory said: {"steps":2,"owner":"ada"}' });
    const events = await kit.events(sessionId);
    expect(dataOf(events, 'security.decision').map((d) => [d.tool, d.decision, d.by])).toEqual([
      ['mcp__orchestrator__memory_set', 'allow', 'claude-code'],
      ['mcp__orchestrator__memory_get', 'allow', 'claude-code'],
    ]);
    expect(dataOf(events, 'agent.tool_result').map((d) => d.content)).toEqual([
      'stored "plan"',
      '{"steps":2,"owner":"ada"}',
    ]);
  });

  it('refuses to spawn an agent id that is still running', async () => {
    const cwd = await kit.workspace('dup');
    const sessionId = kit.session();
    const first = runtime.spawn({ sessionId, spec: testSpec(), prompt: 'Say hello', cwd, agentId: 'agt_fixed' });
    expect(() =>
      runtime.spawn({ sessionId, spec: testSpec(), prompt: 'Say hello', cwd, agentId: 'agt_fixed' }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
    expect((await first.result).ok).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../src/agents/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// Structured output on the real SDK: Claude Code's StructuredOutput tool validates against the
// schema (not formats), then the orchestrator checks the result again with its own validator.

const badTurn = `
      - content:
          - structured_output: { title: Report, count: 7 }`;

const scenario = `
name: agent-output
scripts:
  - name: good
    match: { user: '^Report properly$' }
    turns:
      - content:
          - structured_output: { title: Report, count: 2, contact: ada@example.dev }
  - name: bad-format
    match: { user: '^Report a bad address$' }
    turns:
      - content:
          - structured_output: { title: Report, count: 2, contact: not an address }
  - name: always-wrong
    match: { user: '^Report too many$' }
    turns:${badTurn.repeat(6)}
  - name: gives-up
    match: { user: '^Report then give up$' }
    turns:${badTurn}
      - I cannot produce that.
`;

const schema = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    count: { type: 'integer', maximum: 3 },
    contact: { type: 'string', format: 'email' },
  },
  required: ['title', 'count'],
  additionalProperties: false,
};

let kit: AgentKit;
let runtime: AgentRuntime;

beforeAll(async () => {
  kit = await startAgentKit({ scenario, sdk: { maxRetries: 0 } });
  runtime = kit.runtime();
});

afterAll(async () => {
  await kit?.cleanup();
});

async function run(prompt: string, outputSchema: Record<string, unknown> = schema) {
  const sessionId = kit.session();
  const result = await runtime.spawn({
    sessionId,
    spec: testSpec({ tools: [] }),
    prompt,
    cwd: await kit.workspace('output'),
    outputSchema,
  }).result;
  return { result, events: await kit.events(sessionId) };
}

describe('structured output', () => {
  it('returns the object the model produced when it matches the schema', async () => {
    const { result, events } = await run('Report properly');

    expect(result).toMatchObject({ ok: true, structured: { title: 'Report', count: 2, contact: 'ada@example.dev' } });
    expect(dataOf(events, 'agent.completed')[0]?.output).toEqual({
      title: 'Report',
      count: 2,
      contact: 'ada@example.dev',
    });
    // StructuredOutput is allowed even with an empty allow list: it is how the answer arrives.
    expect(dataOf(events, 'security.decision')).toEqual([
      expect.objectContaining({ tool: 'StructuredOutput', decision: 'allow' }),
    ]);
  });

  it("rejects an object Claude Code accepted but the orchestrator's check does not (format)", async () => {
    const { result, events } = await run('Report a bad address');

    // Claude Code took it (its tool result is no error), the orchestrator did not.
    expect(dataOf(events, 'agent.tool_result')).toEqual([expect.objectContaining({ isError: false })]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({
      code: 'AGENT_OUTPUT_INVALID',
      retryable: false,
      details: { structured: { title: 'Report', count: 2, contact: 'not an address' } },
    });
    expect(result.error.message).toContain('/contact: String does not match format "email"');
    expect(dataOf(events, 'agent.failed')).toEqual([expect.objectContaining({ willRetry: false })]);
    expect(dataOf(events, 'agent.completed')).toEqual([]);
  });

  it("fails with AGENT_OUTPUT_INVALID once Claude Code's own structured output retries run out", async () => {
    const { result, events } = await run('Report too many');

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({
      code: 'AGENT_OUTPUT_INVALID',
      details: { subtype: 'error_max_structured_output_retries' },
    });
    const refusals = dataOf(events, 'agent.tool_result');
    expect(refusals.length).toBeGreaterThanOrEqual(5);
    expect(refusals.every((d) => d.isError === true && String(d.content).includes('must be <= 3'))).toBe(true);
  });

  it('explains a text-only final answer with the last refusal of its StructuredOutput call', async () => {
    const { result } = await run('Report then give up');

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('AGENT_OUTPUT_INVALID');
    expect(result.error.message).toContain('answered with text only');
    expect(result.error.message).toContain('/count: must be <= 3');
  });

  it('fails fast with INVALID_ARGUMENT for an invalid schema, before starting Claude Code', async () => {
    const before = kit.server.requests.length;
    const { result } = await run('Report properly', { type: 'object', properties: { n: { type: 'wrong' } } });

    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', retryable: false } });
    expect(kit.server.requests.length).toBe(before);
    expect(kit.ownProcesses()).toEqual([]);
  });
});

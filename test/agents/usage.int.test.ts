import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpendRequest } from '../../src/agents/index.ts';
import { OrchestratorError } from '../../src/errors/index.ts';
import { type AgentKit, dataOf, startAgentKit, testSpec } from '../support/agent-kit.ts';

// What the runtime records for monitoring, on the real SDK against the scripted model: one
// agent.usage per model response with the counts the server reported, per-model usage on the
// outcome, memory samples of the process, and the spend gate asked before a process starts.

const scenario = `
name: usage
scripts:
  - name: two-turns
    match: { user: '^Two turns$' }
    turns:
      - content:
          - text: First I run a command.
          - tool_use: { name: Bash, input: { command: 'echo hi', description: Say hi } }
        usage: { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 300, cache_creation_input_tokens: 200 }
      - content: [{ text: Done. }]
        usage: { input_tokens: 1200, output_tokens: 20 }
  - name: slow
    match: { user: '^Think slowly$' }
    turns:
      - content: [{ text: Still thinking. }]
        delay_ms: 20000
`;

let kit: AgentKit;

beforeAll(async () => {
  kit = await startAgentKit({ scenario });
});

afterAll(async () => {
  await kit?.cleanup();
});

describe('usage, resources and the spend gate', () => {
  it('records each response with its real token counts, and per-model usage on completion', async () => {
    const sessionId = kit.session();
    const asked: SpendRequest[] = [];
    const gated = kit.runtime({
      resourceSampleMs: 0,
      spendGate: {
        admit(request) {
          asked.push(request);
          return { ok: true, maxBudgetUsd: 5 };
        },
      },
    });
    const handle = gated.spawn({
      sessionId,
      spec: testSpec({ tools: ['Bash'] }),
      prompt: 'Two turns',
      cwd: await kit.workspace('usage'),
      workflowId: 'wf_1',
      nodeId: 'n1',
    });
    const result = await handle.result;
    expect(result.ok).toBe(true);
    // Asked at spawn and again right before the process started.
    expect(asked).toHaveLength(2);
    expect(asked[0]).toMatchObject({ sessionId, workflowId: 'wf_1', agentType: 'tester', nodeId: 'n1' });

    const events = await kit.events(sessionId);
    const usage = dataOf(events, 'agent.usage');
    expect(usage).toMatchObject([
      { inputTokens: 1000, outputTokens: 50, cacheReadTokens: 300, cacheCreationTokens: 200, turn: 1 },
      { inputTokens: 1200, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0, turn: 2 },
    ]);
    for (const data of usage) {
      expect(data.model).toBe('claude-opus-5-5');
      expect(typeof data.ttftMs).toBe('number');
      expect(Number(data.durationMs)).toBeGreaterThanOrEqual(Number(data.ttftMs));
    }
    const [completed] = dataOf(events, 'agent.completed');
    expect(completed?.modelUsage).toMatchObject({
      'claude-opus-5-5': {
        inputTokens: 2200,
        outputTokens: 70,
        cacheReadTokens: 300,
        cacheCreationTokens: 200,
        costUsd: expect.any(Number),
      },
    });
    const [memory] = dataOf(events, 'agent.resources');
    expect(memory).toMatchObject({ processes: 1 });
    expect(Number(memory?.rssBytes)).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('refuses a spawn the gate refuses, without starting a process or recording anything', async () => {
    const sessionId = kit.session();
    const runtime = kit.runtime({
      resourceSampleMs: 0,
      spendGate: { admit: () => ({ ok: false, error: new OrchestratorError('BUDGET_EXHAUSTED', 'no money left') }) },
    });
    const requests = kit.server.requests.length;
    const result = await runtime.spawn({
      sessionId,
      spec: testSpec(),
      prompt: 'Two turns',
      cwd: await kit.workspace('refused'),
    }).result;
    expect(result).toMatchObject({ ok: false, attempts: 0, error: { code: 'BUDGET_EXHAUSTED' } });
    expect(await kit.events(sessionId)).toEqual([]);
    expect(kit.server.requests.length).toBe(requests);
  });

  it('samples the memory of live agents periodically and stops agents with a typed error', async () => {
    const sessionId = kit.session();
    const runtime = kit.runtime({ resourceSampleMs: 200 });
    const handle = runtime.spawn({
      sessionId,
      spec: testSpec(),
      prompt: 'Think slowly',
      cwd: await kit.workspace('slow'),
      workflowId: 'wf_slow',
    });
    // Wait until a periodic sample names the agent, then stop it as a tripped budget would.
    for (let i = 0; i < 200; i++) {
      const samples = dataOf(await kit.events(sessionId), 'agent.resources');
      if (samples.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runtime.running().map((agent) => agent.workflowId)).toEqual(['wf_slow']);
    const stopped = runtime.stopAgents(
      (agent) => agent.workflowId === 'wf_slow',
      new OrchestratorError('BUDGET_EXHAUSTED', 'the workflow budget is spent'),
    );
    expect(stopped).toBe(1);
    const result = await handle.result;
    expect(result).toMatchObject({ ok: false, error: { code: 'BUDGET_EXHAUSTED' } });
    const events = await kit.events(sessionId);
    const [sample] = dataOf(events, 'agent.resources');
    expect(sample).toMatchObject({ processes: 1, samples: [{ agentId: handle.agentId }] });
    expect(dataOf(events, 'agent.failed')).toMatchObject([{ error: { code: 'BUDGET_EXHAUSTED' }, willRetry: false }]);
  });
});

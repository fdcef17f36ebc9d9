import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError, type OrchestratorError } from '../../src/errors/index.ts';
import {
  type AgentIdentity,
  budgetGate,
  type ExhaustedData,
  type GateLimit,
  type GatewayRequest,
  type RequestEnd,
  spentByScope,
  type WireUsage,
} from '../../src/gateway/index.ts';
import { EventRecorder } from '../monitor/kit.ts';

// Token limits (a node's `budget.tokens`) in the budget gate: the same reservation rule as
// dollars at one "price" per token, a whole input (cache reads and writes) plus output booked,
// refusals recorded in tokens, resumed sessions seeded in tokens.

const MODEL = 'claude-sonnet-4-5';
const node: AgentIdentity = {
  sessionId: 'ses_1',
  agentId: 'agt_1',
  agentType: 'coder',
  workflowId: 'wf_1',
  nodeId: 'build',
};
const nodeRef = { sessionId: 'ses_1', scope: 'node' as const, key: 'wf_1/build' };

let next = 0;
function request(who: AgentIdentity = node, overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return {
    requestId: `req_${++next}`,
    agent: who,
    path: '/v1/messages',
    model: MODEL,
    stream: true,
    maxTokens: 4096,
    inputTokensEstimate: 1000,
    bodyDigest: 'digest',
    body: { messages: [] },
    ...overrides,
  };
}

function ended(inputTokens: number, outputTokens: number, extra: Partial<WireUsage> = {}): RequestEnd {
  const usage = { model: MODEL, inputTokens, outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0, ...extra };
  return { status: 200, usage, ok: true, durationMs: 5 };
}

function harness(limits: readonly GateLimit[]) {
  const recorded: ExhaustedData[] = [];
  const stopped: { agentId: string; error: OrchestratorError }[] = [];
  const gate = budgetGate({
    limits: () => limits,
    record: (_sessionId, data) => recorded.push(data),
    stopAgent: (agentId, error) => stopped.push({ agentId, error }),
  });
  return { gate, recorded, stopped };
}

describe('budgetGate: token limits', () => {
  it('holds input plus max_tokens, lowers max_tokens to what is left, and books the whole input plus output', () => {
    const { gate } = harness([{ scope: 'node', limitTokens: 10_000 }]);
    const first = request();
    expect(gate.admit(first)).toEqual({ ok: true });
    expect(gate.reservation(first.requestId)).toMatchObject({ inputTokens: 1000, maxTokens: 4096, tokens: 5096 });
    expect(gate.remaining(nodeRef)).toMatchObject({ heldTokens: 5096, limitTokens: 10_000, remainingTokens: 4904 });
    // A second request while the first is in flight sees only what the first did not hold.
    const second = request();
    expect(gate.admit(second)).toEqual({ ok: true, maxTokens: 4904 - 1000 });
    gate.settle(first, ended(800, 300, { cacheReadTokens: 150, cacheCreationTokens: 50 }));
    gate.settle(second, ended(1000, 100));
    expect(gate.remaining(nodeRef)).toMatchObject({ spentTokens: 1300 + 1100, heldTokens: 0, remainingTokens: 7600 });
  });

  it('refuses below the floor, records the limit in tokens once, and stops the agent', () => {
    const { gate, recorded, stopped } = harness([{ scope: 'node', limitTokens: 1000 + 255 }]);
    const refused = gate.admit(request());
    expect(refused.ok).toBe(false);
    const error = (refused as { error: OrchestratorError }).error;
    expect(isOrchestratorError(error, 'BUDGET_EXHAUSTED')).toBe(true);
    expect(error.message).toMatch(/node wf_1\/build has spent 0 of its 1255 tokens/);
    expect(recorded).toEqual([
      { scope: 'node', key: 'wf_1/build', limitTokens: 1255, spentTokens: 0, action: 'fail', workflowId: 'wf_1' },
    ]);
    expect(gate.admit(request()).ok).toBe(false);
    expect(recorded).toHaveLength(1);
    expect(stopped.map((s) => s.agentId)).toEqual(['agt_1']);
  });

  it('takes the tighter of a dollar and a token limit on one scope, and names the one that refuses', () => {
    // $ for 1000 input + 2000 output at sonnet prices (input reserved at the cache-write rate).
    const usd = (1000 * 3750 + 2000 * 15000) / 1e9;
    const tight = harness([{ scope: 'node', limitUsd: usd, limitTokens: 2500 }]);
    expect(tight.gate.admit(request())).toEqual({ ok: true, maxTokens: 1500 });
    const loose = harness([{ scope: 'node', limitUsd: usd, limitTokens: 50_000 }]);
    expect(loose.gate.admit(request())).toEqual({ ok: true, maxTokens: 2000 });
    const none = harness([{ scope: 'node', limitUsd: 1, limitTokens: 900 }]);
    expect(none.gate.admit(request()).ok).toBe(false);
    expect(none.recorded[0]).toMatchObject({ limitTokens: 900 });
  });

  it('never passes a token limit when inputs are counted at or above their real size (8 agents, random order)', () => {
    const limit = 40_000;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            agent: fc.nat(7),
            settleFirst: fc.boolean(),
            real: fc.double({ min: 0.2, max: 1, noNaN: true }),
          }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        (steps) => {
          const { gate } = harness([{ scope: 'node', limitTokens: limit }]);
          const inFlight = new Map<number, { r: GatewayRequest; maxTokens: number }>();
          for (const step of steps) {
            const flying = inFlight.get(step.agent);
            if (flying && step.settleFirst) {
              const output = Math.floor(flying.maxTokens * step.real);
              gate.settle(flying.r, ended(Math.floor(1000 * step.real), output));
              inFlight.delete(step.agent);
            } else if (!flying) {
              const r = request({ ...node, agentId: `agt_${step.agent}` });
              const admitted = gate.admit(r);
              if (admitted.ok) inFlight.set(step.agent, { r, maxTokens: admitted.maxTokens ?? r.maxTokens });
            }
            const figures = gate.remaining(nodeRef);
            expect(figures.spentTokens + figures.heldTokens).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('seeds a resumed session in tokens from its log, and does not report a token limit twice', () => {
    const r = new EventRecorder('ses_1').start('wf_1').spawn('agt_1', { nodeId: 'build' });
    r.add('model.request', {
      requestId: 'q1',
      agentId: 'agt_1',
      model: MODEL,
      status: 200,
      ok: true,
      inputTokens: 600,
      outputTokens: 200,
      cacheReadTokens: 100,
      cacheCreationTokens: 100,
      costUsd: 0.01,
      durationMs: 5,
      attempt: 1,
    });
    r.add('budget.exhausted', {
      scope: 'node',
      key: 'wf_1/build',
      limitTokens: 1200,
      spentTokens: 1000,
      action: 'fail',
    });
    const spent = spentByScope('ses_1', r.events).find((s) => s.scope === 'node');
    expect(spent).toMatchObject({ key: 'wf_1/build', tokens: 1000 });
    const { gate, recorded } = harness([{ scope: 'node', limitTokens: 1200 }]);
    gate.load('ses_1', r.events);
    expect(gate.remaining(nodeRef).spentTokens).toBe(1000);
    expect(gate.admit(request()).ok).toBe(false);
    expect(recorded).toEqual([]);
  });
});

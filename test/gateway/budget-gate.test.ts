import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrchestratorError, type OrchestratorError } from '../../src/errors/index.ts';
import {
  type AgentIdentity,
  type BudgetGate,
  budgetGate,
  type ExhaustedData,
  type GateLimit,
  type GatewayRequest,
  type RequestEnd,
  type ScopeRef,
  spentByScope,
  usageCost,
  type WireUsage,
} from '../../src/gateway/index.ts';
import { EventRecorder } from '../monitor/kit.ts';

// The budget gate: reservations per model request against every covering limit, lowered
// max_tokens, refusals recorded once and the agent stopped, settlement with the real usage,
// and the overshoot bound under random interleavings of 8 concurrent agents.

const MODEL = 'claude-sonnet-4-5';
/** Sonnet in nano-dollars: input reserved at the cache-write rate, output. */
const IN = 3750;
const OUT = 15000;
const nano = (usd: number) => Math.round(usd * 1e9);

function agent(agentId: string, overrides: Partial<AgentIdentity> = {}): AgentIdentity {
  return { sessionId: 'ses_1', agentId, agentType: 'coder', workflowId: 'wf_1', nodeId: 'build', ...overrides };
}

let next = 0;
function request(who: AgentIdentity, overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return {
    requestId: `req_${++next}`,
    agent: who,
    path: '/v1/messages?beta=true',
    model: MODEL,
    stream: true,
    maxTokens: 4096,
    inputTokensEstimate: 1000,
    bodyDigest: 'digest',
    body: { messages: [] },
    ...overrides,
  };
}

function usage(inputTokens: number, outputTokens: number, extra: Partial<WireUsage> = {}): WireUsage {
  return { model: MODEL, inputTokens, outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0, ...extra };
}

function ended(u: WireUsage | undefined, status = 200): RequestEnd {
  return { status, usage: u, ok: u !== undefined && status === 200, durationMs: 10 };
}

interface Harness {
  readonly gate: BudgetGate;
  readonly recorded: { sessionId: string; data: ExhaustedData }[];
  readonly stopped: { agentId: string; error: OrchestratorError }[];
  readonly paused: { sessionId: string; workflowId: string | undefined; reason: string }[];
}

function harness(
  limits: readonly GateLimit[] | ((who: AgentIdentity) => readonly GateLimit[]),
  extra: { pause?: boolean; minOutputTokens?: number } = {},
): Harness {
  const recorded: Harness['recorded'] = [];
  const stopped: Harness['stopped'] = [];
  const paused: Harness['paused'] = [];
  const gate = budgetGate({
    limits: typeof limits === 'function' ? limits : () => limits,
    record: (sessionId, data) => recorded.push({ sessionId, data }),
    stopAgent: (agentId, error) => stopped.push({ agentId, error }),
    ...(extra.pause && { pause: (sessionId, workflowId, reason) => paused.push({ sessionId, workflowId, reason }) }),
    ...(extra.minOutputTokens !== undefined && { minOutputTokens: extra.minOutputTokens }),
  });
  return { gate, recorded, stopped, paused };
}

const FULL = 1000 * IN + 4096 * OUT;

describe('budgetGate: admission', () => {
  it('forwards as asked, holding the most the request can cost', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const r = request(agent('agt_1'));
    expect(gate.admit(r)).toEqual({ ok: true });
    // No token limit covers it: no tokens held.
    expect(gate.reservation(r.requestId)).toEqual({ inputTokens: 1000, maxTokens: 4096, usd: FULL / 1e9, tokens: 0 });
    expect(gate.remaining({ sessionId: 'ses_1', scope: 'session', key: 'ses_1' })).toEqual({
      spentUsd: 0,
      heldUsd: FULL / 1e9,
      limitUsd: 1,
      remainingUsd: (1e9 - FULL) / 1e9,
      spentTokens: 0,
      heldTokens: 0,
      limitTokens: undefined,
      remainingTokens: undefined,
    });
  });

  it('lowers max_tokens to what the tightest budget has left', () => {
    const { gate, recorded } = harness([{ scope: 'session', limitUsd: 0.03 }]);
    const admission = gate.admit(request(agent('agt_1')));
    expect(admission).toEqual({ ok: true, maxTokens: Math.floor((0.03e9 - 1000 * IN) / OUT) });
    expect(recorded).toEqual([]);
  });

  it('refuses below the floor with BUDGET_EXHAUSTED, records it once per scope and stops each agent once', () => {
    const limitUsd = (1000 * IN + 255 * OUT) / 1e9;
    const { gate, recorded, stopped } = harness([{ scope: 'workflow', limitUsd }]);
    const first = gate.admit(request(agent('agt_1')));
    expect(first.ok).toBe(false);
    const error = (first as { error: OrchestratorError }).error;
    expect(isOrchestratorError(error, 'BUDGET_EXHAUSTED')).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/workflow wf_1 has spent \$0\.0000 of its \$0\.007575 limit/);
    expect(recorded).toEqual([
      {
        sessionId: 'ses_1',
        data: { scope: 'workflow', key: 'wf_1', limitUsd, spentUsd: 0, action: 'fail', workflowId: 'wf_1' },
      },
    ]);
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(gate.admit(request(agent('agt_2'))).ok).toBe(false);
    expect(recorded).toHaveLength(1);
    expect(stopped.map((s) => s.agentId)).toEqual(['agt_1', 'agt_2']);
    expect(stopped[0]?.error).toBe(error);
  });

  it('checks every covering budget and names the tightest: session, workflow, agent type, node, agent', () => {
    const limits: GateLimit[] = [
      { scope: 'session', limitUsd: 10 },
      { scope: 'workflow', limitUsd: 5 },
      { scope: 'agentType', limitUsd: 2 },
      { scope: 'node', limitUsd: 1 },
      { scope: 'agent', limitUsd: 0.005 },
    ];
    const { gate, recorded } = harness(limits);
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(recorded[0]?.data).toMatchObject({ scope: 'agent', key: 'agt_1' });
    // Another agent of the node has its own agent budget; the node's is the next tightest.
    const { gate: other, recorded: more } = harness((who) =>
      who.agentId === 'agt_1' ? limits : limits.filter((l) => l.scope !== 'agent'),
    );
    const r = request(agent('agt_2'), { maxTokens: 64_000, inputTokensEstimate: 60_000 });
    expect(other.admit(r)).toEqual({ ok: true, maxTokens: Math.floor((1e9 - 60_000 * IN) / OUT) });
    expect(other.admit(request(agent('agt_3'))).ok).toBe(false);
    expect(more[0]?.data).toMatchObject({ scope: 'node', key: 'wf_1/build' });
  });

  it('keeps per-session accounts: the same agent type in another session starts afresh', () => {
    const { gate } = harness([{ scope: 'agentType', limitUsd: FULL / 1e9 }]);
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(true);
    expect(gate.admit(request(agent('agt_2'))).ok).toBe(false);
    expect(gate.admit(request(agent('agt_3', { sessionId: 'ses_2' }))).ok).toBe(true);
  });

  it('prices an unknown model at the dearest known price', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const r = request(agent('agt_1'), { model: 'mystery-model-9' });
    gate.admit(r);
    expect(gate.reservation(r.requestId)?.usd).toBeCloseTo((1000 * 18750 + 4096 * 75000) / 1e9, 12);
  });

  it('counts the body when its count is above the estimate, and 1-hour cache writes at twice the input price', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 10 }]);
    const body = {
      system: [{ type: 'text', text: 'x'.repeat(30_000), cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [],
    };
    const r = request(agent('agt_1'), { body, inputTokensEstimate: 7500 });
    gate.admit(r);
    const held = gate.reservation(r.requestId);
    expect(held?.inputTokens).toBeGreaterThanOrEqual(10_000);
    expect(held?.usd).toBeCloseTo(((held?.inputTokens ?? 0) * 6000 + 4096 * OUT) / 1e9, 12);
  });

  it('never lowers max_tokens to or below the thinking budget', () => {
    const body = { messages: [], thinking: { type: 'enabled', budget_tokens: 2000 } };
    const { gate } = harness([{ scope: 'session', limitUsd: (1000 * IN + 1500 * OUT) / 1e9 }]);
    expect(gate.admit(request(agent('agt_1'), { body, maxTokens: 8000 })).ok).toBe(false);
    const { gate: roomier } = harness([{ scope: 'session', limitUsd: (1000 * IN + 2500 * OUT) / 1e9 }]);
    expect(roomier.admit(request(agent('agt_1'), { body, maxTokens: 8000 }))).toEqual({ ok: true, maxTokens: 2500 });
  });

  it('honours minOutputTokens, and lets token counting through for free', () => {
    const limitUsd = (1000 * IN + 100 * OUT) / 1e9;
    expect(harness([{ scope: 'session', limitUsd }], { minOutputTokens: 64 }).gate.admit(request(agent('a')))).toEqual({
      ok: true,
      maxTokens: 100,
    });
    const { gate } = harness([{ scope: 'session', limitUsd: 0 }]);
    const count = request(agent('agt_1'), { path: '/v1/messages/count_tokens' });
    expect(gate.admit(count)).toEqual({ ok: true });
    expect(gate.reservation(count.requestId)).toBeUndefined();
  });

  it('pauses the workflow instead of stopping the agent when the limit says pause', () => {
    const { gate, stopped, paused, recorded } = harness([{ scope: 'workflow', limitUsd: 0, action: 'pause' }], {
      pause: true,
    });
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(gate.admit(request(agent('agt_2'))).ok).toBe(false);
    expect(stopped).toEqual([]);
    expect(paused).toEqual([
      { sessionId: 'ses_1', workflowId: 'wf_1', reason: expect.stringMatching(/^budget exhausted/) },
    ]);
    expect(recorded[0]?.data.action).toBe('pause');
    // Without a pause callback, the agent is stopped.
    const fallback = harness([{ scope: 'workflow', limitUsd: 0, action: 'pause' }]);
    fallback.gate.admit(request(agent('agt_1')));
    expect(fallback.stopped).toHaveLength(1);
  });

  it('does not report a limit another component reported, and reports a raised one again', () => {
    const { gate, recorded } = harness(() => [{ scope: 'session', limitUsd: limit }]);
    let limit = 0.001;
    gate.markRecorded('ses_1', { scope: 'session', key: 'ses_1', limitUsd: 0.001 });
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(recorded).toEqual([]);
    limit = 0.002;
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(recorded).toHaveLength(1);
  });

  it('replaces the hold of a request admitted again (a retry) instead of adding to it', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const r = request(agent('agt_1'));
    gate.admit(r);
    gate.admit(r);
    expect(nano(gate.remaining({ sessionId: 'ses_1', scope: 'session', key: 'ses_1' }).heldUsd)).toBe(FULL);
  });

  it('rejects options it cannot work with, naming each', () => {
    expect(() =>
      budgetGate({ limits: () => [], record: 'x', stopAgent: () => {}, minOutputTokens: 0 } as never),
    ).toThrow(/record: expected a function, got string; minOutputTokens: expected a positive integer, got 0/);
  });
});

describe('budgetGate: settlement', () => {
  const session = { sessionId: 'ses_1', scope: 'session', key: 'ses_1' } as const;

  it('releases the hold and books the real usage in every covering account', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const r = request(agent('agt_1'));
    gate.admit(r);
    gate.settle(r, ended(usage(900, 300)));
    const cost = 900 * 3000 + 300 * OUT;
    expect(gate.remaining(session)).toEqual({
      spentUsd: cost / 1e9,
      heldUsd: 0,
      limitUsd: 1,
      remainingUsd: (1e9 - cost) / 1e9,
      spentTokens: 1200,
      heldTokens: 0,
      limitTokens: undefined,
      remainingTokens: undefined,
    });
    for (const [scope, key] of [
      ['workflow', 'wf_1'],
      ['agentType', 'coder'],
      ['node', 'wf_1/build'],
      ['agent', 'agt_1'],
    ] as const) {
      expect(nano(gate.remaining({ sessionId: 'ses_1', scope, key }).spentUsd)).toBe(cost);
    }
    expect(gate.reservation(r.requestId)).toBeUndefined();
  });

  it('books the reserved input of an accepted request without usage, nothing for an error or no upstream', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const cut = request(agent('agt_1'));
    gate.admit(cut);
    gate.settle(cut, ended(undefined, 200));
    expect(nano(gate.remaining(session).spentUsd)).toBe(1000 * IN);
    for (const status of [0, 429, 529]) {
      const failed = request(agent('agt_1'));
      gate.admit(failed);
      gate.settle(failed, ended(undefined, status));
    }
    expect(gate.remaining(session)).toMatchObject({ spentUsd: (1000 * IN) / 1e9, heldUsd: 0 });
  });

  it('books the usage of a request it never admitted (real spend), once the session is known', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    gate.settle(request(agent('agt_1')), ended(usage(10, 10)));
    expect(gate.remaining(session).spentUsd).toBe(0);
    gate.admit(request(agent('agt_1')));
    gate.settle(request(agent('agt_1')), ended(usage(10, 10)));
    expect(nano(gate.remaining(session).spentUsd)).toBe(10 * 3000 + 10 * OUT);
  });

  it('calibrates an agent’s input count by the real input of its last response', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 10 }]);
    const first = request(agent('agt_1'));
    gate.admit(first);
    gate.settle(first, ended(usage(500, 10, { cacheReadTokens: 2000, cacheCreationTokens: 500 })));
    const second = request(agent('agt_1'), { inputTokensEstimate: 1200 });
    gate.admit(second);
    expect(gate.reservation(second.requestId)?.inputTokens).toBe(3600);
    // Another agent, or a subagent of the same one, is counted on its own.
    const sub = request(agent('agt_1'), { subagent: 'explorer', inputTokensEstimate: 1200 });
    gate.admit(sub);
    expect(gate.reservation(sub.requestId)?.inputTokens).toBe(1200);
    // Over-counted input never lowers the count below its estimate.
    gate.settle(second, ended(usage(100, 10)));
    const third = request(agent('agt_1'));
    gate.admit(third);
    expect(gate.reservation(third.requestId)?.inputTokens).toBe(1000);
  });

  it('serves 3.2 turns to 4 concurrent agents as 3 whole turns and one lowered, never 5', () => {
    const turn = 2000 * IN + 4096 * OUT;
    const { gate } = harness([{ scope: 'session', limitUsd: (3.2 * turn) / 1e9 }]);
    const sent = [1, 2, 3, 4].map((n) => request(agent(`agt_${n}`), { inputTokensEstimate: 2000 }));
    const admissions = sent.map((r) => gate.admit(r));
    expect(admissions.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(admissions[3]).toEqual({ ok: true, maxTokens: Math.floor((0.2 * turn - 2000 * IN) / OUT) });
    for (const [i, r] of sent.entries()) gate.settle(r, ended(usage(2000, i === 3 ? 100 : 4096)));
    expect(nano(gate.remaining(session).spentUsd)).toBeLessThanOrEqual(Math.floor(3.2 * turn));
    // A fifth turn does not fit.
    expect(gate.admit(request(agent('agt_1'), { inputTokensEstimate: 2000 })).ok).toBe(false);
  });
});

describe('budgetGate: resuming a session', () => {
  it('seeds accounts with a number per scope, keeping the higher figure', () => {
    const { gate } = harness([{ scope: 'workflow', limitUsd: 1 }]);
    gate.seed('ses_1', [{ scope: 'workflow', key: 'wf_1', usd: 0.999 }]);
    gate.seed('ses_1', [{ scope: 'workflow', key: 'wf_1', usd: 0.5 }]);
    expect(gate.remaining({ sessionId: 'ses_1', scope: 'workflow', key: 'wf_1' }).spentUsd).toBe(0.999);
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
  });

  it('loads spend per scope and reported limits from the log, the wire’s figure when higher', () => {
    const r = new EventRecorder('ses_1').start('wf_1').spawn('agt_1', { nodeId: 'build' });
    r.spawn('agt_2', { nodeId: 'review', agentType: 'reviewer' });
    r.usage('agt_1', 0, 10_000); // $0.15 reported by Claude Code
    r.add('model.request' as never, { agentId: 'agt_1', costUsd: 0.2 } as never); // the wire saw more
    r.add('model.request' as never, { agentId: 'agt_2', costUsd: 0.05 } as never);
    r.add('budget.exhausted', { scope: 'node', key: 'wf_1/build', limitUsd: 0.2, spentUsd: 0.2, action: 'fail' });
    const spent = Object.fromEntries(spentByScope('ses_1', r.events).map((s) => [`${s.scope}|${s.key}`, s.usd]));
    expect(spent['session|ses_1']).toBeCloseTo(0.25, 9);
    expect(spent['workflow|wf_1']).toBeCloseTo(0.25, 9);
    expect(spent['agentType|coder']).toBeCloseTo(0.2, 9);
    expect(spent['agentType|reviewer']).toBeCloseTo(0.05, 9);
    expect(spent['node|wf_1/build']).toBeCloseTo(0.2, 9);
    expect(spent['agent|agt_2']).toBeCloseTo(0.05, 9);

    const { gate, recorded } = harness([{ scope: 'node', limitUsd: 0.2 }]);
    gate.load('ses_1', r.events);
    expect(gate.remaining({ sessionId: 'ses_1', scope: 'node', key: 'wf_1/build' }).spentUsd).toBeCloseTo(0.2, 9);
    expect(gate.admit(request(agent('agt_1'))).ok).toBe(false);
    expect(recorded).toEqual([]); // reported before the resume
  });

  it('forgets a session: its accounts and holds go, late settlements book nothing', () => {
    const { gate } = harness([{ scope: 'session', limitUsd: 1 }]);
    const r = request(agent('agt_1'));
    gate.admit(r);
    gate.forget('ses_1');
    gate.settle(r, ended(usage(10, 10)));
    expect(gate.remaining({ sessionId: 'ses_1', scope: 'session', key: 'ses_1' })).toMatchObject({
      spentUsd: 0,
      heldUsd: 0,
      limitUsd: undefined,
      remainingUsd: undefined,
      spentTokens: 0,
    });
  });
});

describe('budgetGate: overshoot under concurrency (property)', () => {
  // 8 agents (4 coders, 4 reviewers) of one workflow send turns of random input (500 to 30,000
  // tokens) with max_tokens 4096, against limits that allow about 3 average turns. Steps pick
  // an agent at random: an idle one sends a request, one in flight gets its response (random
  // real usage within the forwarded max_tokens, or a cut stream, an error, no upstream). What
  // is checked after every step, for every limited account, in whole nano-dollars:
  //   booked + held <= limit + Σ max(0, cost − reservation) over its settled requests;
  // with real inputs at or below their count the sum is 0: spending never passes a limit.
  // And the gate refuses only what does not fit: a refusal while nothing is held in the
  // limiting account leaves less than the smallest request (its input and 256 output tokens).
  const TURN = 15_000 * IN + 4096 * OUT;
  const LIMITS: Record<string, number> = {
    session: 3 * TURN,
    workflow: 2.6 * TURN,
    agentType: 1.5 * TURN,
    agent: TURN,
  };
  const limitsOf = (who: AgentIdentity): GateLimit[] => [
    { scope: 'session', limitUsd: (LIMITS.session as number) / 1e9 },
    { scope: 'workflow', limitUsd: (LIMITS.workflow as number) / 1e9 },
    ...(who.agentType === 'coder'
      ? [{ scope: 'agentType' as const, limitUsd: (LIMITS.agentType as number) / 1e9 }]
      : []),
    { scope: 'agent', limitUsd: (LIMITS.agent as number) / 1e9 },
  ];
  const step = fc.record({
    agent: fc.nat(7),
    input: fc.integer({ min: 500, max: 30_000 }),
    /** Real output, per mille of the forwarded max_tokens. */
    output: fc.integer({ min: 0, max: 1000 }),
    /** Real input, per mille of the reserved input count (above 1000 only when under-counting). */
    inputShare: fc.integer({ min: 0, max: 1250 }),
    split: fc.constantFrom('plain', 'read', 'write', 'mixed'),
    end: fc.constantFrom('usage', 'usage', 'usage', 'cut-usage', 'cut-none', 'error', 'unreached'),
  });

  function run(steps: fc.Arbitrary<(typeof step extends fc.Arbitrary<infer T> ? T : never)[]>, undercount: boolean) {
    fc.assert(
      fc.property(steps, (plan) => {
        const { gate, stopped } = harness(limitsOf);
        const agents = Array.from({ length: 8 }, (_, n) =>
          agent(`agt_${n}`, { agentType: n < 4 ? 'coder' : 'reviewer', nodeId: `n${n}` }),
        );
        const inFlight = new Map<number, GatewayRequest>();
        const excess = new Map<string, number>();
        const refs = (who: AgentIdentity): ScopeRef[] => [
          { sessionId: 'ses_1', scope: 'session', key: 'ses_1' },
          { sessionId: 'ses_1', scope: 'workflow', key: 'wf_1' },
          ...(who.agentType === 'coder' ? [{ sessionId: 'ses_1', scope: 'agentType' as const, key: 'coder' }] : []),
          { sessionId: 'ses_1', scope: 'agent', key: who.agentId },
        ];
        const check = () => {
          for (const who of agents) {
            for (const ref of refs(who)) {
              const figures = gate.remaining(ref);
              if (figures.limitUsd === undefined) continue;
              const slack = excess.get(`${ref.scope}|${ref.key}`) ?? 0;
              expect(nano(figures.spentUsd) + nano(figures.heldUsd)).toBeLessThanOrEqual(
                nano(figures.limitUsd) + slack,
              );
              if (!undercount) expect(slack).toBe(0);
            }
          }
        };
        const settle = (n: number, s: (typeof plan)[number]) => {
          const sent = inFlight.get(n) as GatewayRequest;
          inFlight.delete(n);
          const held = gate.reservation(sent.requestId);
          if (!held) throw new Error('a request in flight holds no reservation');
          const reserve = nano(held.usd);
          const share = undercount ? s.inputShare : Math.min(1000, s.inputShare);
          const real = Math.floor((held.inputTokens * share) / 1000);
          const part = Math.floor(real / 3);
          const kinds = {
            plain: [real, 0, 0],
            read: [0, real, 0],
            write: [0, 0, real],
            mixed: [part, part, real - 2 * part],
          }[s.split] as [number, number, number];
          const u = usage(kinds[0], Math.floor((held.maxTokens * s.output) / 1000), {
            cacheReadTokens: kinds[1],
            cacheCreationTokens: kinds[2],
          });
          let end: RequestEnd;
          let cost: number;
          if (s.end === 'usage' || s.end === 'cut-usage') {
            end = { ...ended(u), ok: s.end === 'usage' };
            cost = usageCost(u, false);
          } else if (s.end === 'cut-none') {
            end = ended(undefined, 200);
            cost = held.inputTokens * IN;
          } else {
            end = ended(undefined, s.end === 'error' ? 529 : 0);
            cost = 0;
          }
          gate.settle(sent, end);
          if (cost > reserve) {
            for (const ref of refs(sent.agent)) {
              const id = `${ref.scope}|${ref.key}`;
              excess.set(id, (excess.get(id) ?? 0) + cost - reserve);
            }
          }
        };
        for (const s of plan) {
          const n = s.agent;
          const who = agents[n] as AgentIdentity;
          if (inFlight.has(n)) settle(n, s);
          else if (!stopped.some((x) => x.agentId === who.agentId)) {
            const sent = request(who, { inputTokensEstimate: s.input, maxTokens: 4096 });
            const admission = gate.admit(sent);
            if (admission.ok) {
              expect(admission.maxTokens ?? 4096).toBeGreaterThanOrEqual(256);
              inFlight.set(n, sent);
            } else {
              const { scope, key } = admission.error.details as { scope: string; key: string };
              const figures = gate.remaining({ sessionId: 'ses_1', scope: scope as never, key });
              if (!undercount && figures.heldUsd === 0) {
                const left = nano(figures.limitUsd ?? 0) - nano(figures.spentUsd);
                expect(left).toBeLessThan(s.input * IN + 256 * OUT);
              }
            }
          }
          check();
        }
        for (const n of [...inFlight.keys()]) settle(n, { ...plan[0], end: 'usage' } as (typeof plan)[number]);
        check();
        for (const ref of refs(agents[0] as AgentIdentity)) expect(gate.remaining(ref).heldUsd).toBe(0);
      }),
      { numRuns: 300 },
    );
  }

  it('never spends past a limit when inputs are counted at or above their real size', () => {
    run(fc.array(step, { minLength: 1, maxLength: 200 }), false);
  });

  it('passes a limit by no more than the inputs under-counted, priced', () => {
    run(fc.array(step, { minLength: 1, maxLength: 200 }), true);
  });
});

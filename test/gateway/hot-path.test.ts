import { describe, expect, it } from 'vitest';
import {
  budgetGate,
  costOf,
  DeadlineSweep,
  type GatewayRequest,
  Hangup,
  MemoryRateLimitStore,
  PauseGate,
  RateLimiter,
  RequestBody,
  SseUsageReader,
  SubagentTracker,
  tickFor,
} from '../../src/gateway/index.ts';

// The parts of the gateway's per-request path that were made cheap (one timer for all
// timeouts, no AbortSignal unless needed, a body parsed only when read, the queue's
// synchronous fast path, the budget gate not reading bodies no budget covers): each still does
// what the slower form did.

describe('DeadlineSweep', () => {
  it('fires a deadline once when due, pushes an idle one back when touched, and forgets a cancelled one', () => {
    let now = 0;
    const sweep = new DeadlineSweep(100, () => now);
    const fired: string[] = [];
    sweep.watch(1000, () => fired.push('first byte'));
    const idle = sweep.watch(1000, () => fired.push('idle'));
    const cancelled = sweep.watch(500, () => fired.push('cancelled'));
    cancelled.cancel();
    now = 900;
    idle.touch();
    sweep.sweep(); // the touch counts from here: idle is due at 1900
    now = 1000;
    sweep.sweep();
    expect(fired).toEqual(['first byte']);
    now = 1899;
    sweep.sweep();
    expect(fired).toEqual(['first byte']);
    now = 1900;
    sweep.sweep();
    sweep.sweep();
    expect(fired).toEqual(['first byte', 'idle']);
    expect(sweep.size).toBe(0);
  });

  it('runs its timer only while a deadline is open', async () => {
    const sweep = new DeadlineSweep(10);
    let fired = 0;
    sweep.watch(20, () => fired++);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(fired).toBe(1);
    expect(sweep.size).toBe(0);
    sweep.stop();
  });

  it('ticks a tenth of the shortest timeout, between 10 ms and 1 s', () => {
    expect(tickFor(120_000, 60_000)).toBe(1000);
    expect(tickFor(1000, 60_000)).toBe(100);
    expect(tickFor(50)).toBe(10);
  });
});

describe('Hangup', () => {
  it('calls its listeners once, and a signal made before or after the hang-up is aborted', () => {
    const hangup = new Hangup();
    const heard: string[] = [];
    hangup.on(() => heard.push('a'));
    const off = hangup.on(() => heard.push('b'));
    off();
    const early = hangup.signal;
    expect(early.aborted).toBe(false);
    hangup.fire();
    hangup.fire();
    expect(heard).toEqual(['a']);
    expect(hangup.hungUp).toBe(true);
    expect(early.aborted).toBe(true);
    hangup.on(() => heard.push('late'));
    expect(heard).toEqual(['a', 'late']);
    expect(new Hangup().signal.aborted).toBe(false);
    const after = new Hangup();
    after.fire();
    expect(after.signal.aborted).toBe(true);
  });
});

describe('RequestBody', () => {
  const raw = Buffer.from(
    JSON.stringify({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: [{ type: 'tool_result', content: '{"max_tokens":5}' }] }],
      system: [
        { type: 'text', text: 'first' },
        { type: 'text', text: 'You are the coder.' },
      ],
      max_tokens: 32000,
      stream: true,
    }),
  );

  it('is parsed only when a field needs it, and hints max_tokens without parsing', () => {
    const body = new RequestBody(raw);
    expect(body.inputTokensEstimate).toBe(Math.ceil(raw.length / 4));
    expect(body.maxTokensHint).toBe(32000);
    expect(body.parsed).toBe(false);
    expect(body.model).toBe('claude-sonnet-4-5');
    expect(body.parsed).toBe(true);
    expect(body).toMatchObject({ valid: true, stream: true, maxTokens: 32000, lastSystem: 'You are the coder.' });
    expect(body.bodyDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads a body that is no JSON object as empty and invalid', () => {
    for (const text of ['not json', '[1,2]', 'null']) {
      const body = new RequestBody(Buffer.from(text));
      expect(body.valid).toBe(false);
      expect(body.body).toEqual({});
      expect(body.model).toBe('unknown');
      expect(body.maxTokensHint).toBe(0);
    }
  });
});

describe('SubagentTracker', () => {
  it("takes an agent's first prompt as its own, names others by a stable digest, starts afresh for a new agent", () => {
    const tracker = new SubagentTracker();
    const first = { agentId: 'agt_1' };
    const second = { agentId: 'agt_2' };
    expect(tracker.subagentOf(first, 'You are the coder.')).toBeUndefined();
    const helper = tracker.subagentOf(first, 'You are the helper subagent.');
    expect(helper).toMatch(/^sub-[0-9a-f]{12}$/);
    expect(tracker.subagentOf(first, 'You are the coder.')).toBeUndefined();
    expect(tracker.subagentOf(first, 'You are the helper subagent.')).toBe(helper);
    expect(tracker.subagentOf(first, undefined)).toBeUndefined();
    // Another agent: the same digest for the same prompt, but its own first prompt is its own.
    expect(tracker.subagentOf(second, 'You are the helper subagent.')).toBeUndefined();
    expect(tracker.subagentOf(second, 'You are the coder.')).toMatch(/^sub-/);
    expect(tracker.subagentOf({ agentId: 'agt_1' }, 'You are the helper subagent.')).toBeUndefined();
  });
});

describe('SseUsageReader', () => {
  it('reads data lines without a space and with CRLF, and a message_stop whose data is not JSON is malformed', () => {
    const reader = new SseUsageReader('m');
    reader.feed(
      Buffer.from(
        'event:message_start\r\ndata:{"message":{"model":"x","usage":{"input_tokens":3}}}\r\n\r\n' +
          'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n',
      ),
    );
    expect(reader.usage).toMatchObject({ model: 'x', inputTokens: 3 });
    expect(reader.complete).toBe(true);
    expect(reader.malformed).toBeUndefined();
    const broken = new SseUsageReader('m');
    broken.feed(Buffer.from('event: message_stop\ndata: stop\n\n'));
    expect(broken.complete).toBe(false);
    expect(broken.malformed).toBe('event message_stop: data is not JSON');
  });
});

describe('RateLimiter.tryAcquire', () => {
  it('lets a request through at once when nobody waits, never ahead of a waiter', async () => {
    let now = 0;
    const limiter = new RateLimiter({
      store: new MemoryRateLimitStore({ limits: { requests: 120 } }), // 2 a second
      key: 'k',
      gate: new PauseGate(),
      now: () => now,
    });
    const cost = costOf(1, 1);
    expect(limiter.tryAcquire({ sessionId: 'A', cost })).toEqual({ cost, queuedMs: 0 });
    expect(limiter.tryAcquire({ sessionId: 'A', cost })).toBeDefined();
    expect(limiter.tryAcquire({ sessionId: 'A', cost })).toBeUndefined(); // the bucket is empty
    const waiting = limiter.acquire({ sessionId: 'B', cost }, new AbortController().signal);
    now += 10_000; // room again, but B waits first
    expect(limiter.tryAcquire({ sessionId: 'A', cost })).toBeUndefined();
    expect(await waiting).toMatchObject({ cost });
    limiter.close();
  });

  it('goes without a store call or a queue entry when no limit is known', () => {
    const limiter = new RateLimiter({ store: new MemoryRateLimitStore(), key: 'k', gate: new PauseGate() });
    for (let i = 0; i < 5; i++) expect(limiter.tryAcquire({ sessionId: 'A', cost: costOf(1e9, 1e9) })).toBeDefined();
    const paused = new PauseGate();
    paused.pause(1000);
    const held = new RateLimiter({ store: new MemoryRateLimitStore(), key: 'k', gate: paused });
    expect(held.tryAcquire({ sessionId: 'A', cost: costOf(1, 1) })).toBeUndefined();
  });
});

describe('the budget gate without a covering limit', () => {
  it('admits without reading the body, and still books the real spend for a limit set later', () => {
    let limitUsd: number | undefined;
    const gate = budgetGate({
      limits: () => (limitUsd === undefined ? [] : [{ scope: 'session', limitUsd }]),
      record: () => undefined,
      stopAgent: () => undefined,
    });
    const agent = { sessionId: 'ses_1', agentId: 'agt_1', agentType: 'coder' };
    const reads: string[] = [];
    const request = new Proxy(
      {
        requestId: 'r1',
        agent,
        path: '/v1/messages',
        inputTokensEstimate: 10,
        bodyDigest: 'd',
        model: 'claude-sonnet-4-5',
        stream: true,
        maxTokens: 100,
        body: {},
      } satisfies GatewayRequest,
      {
        get(target, key) {
          if (key === 'body' || key === 'model' || key === 'maxTokens') reads.push(String(key));
          return target[key as keyof typeof target];
        },
      },
    );
    expect(gate.admit(request)).toEqual({ ok: true });
    expect(reads).toEqual([]);
    expect(gate.reservation('r1')).toBeUndefined();
    const usage = {
      model: 'claude-sonnet-4-5',
      inputTokens: 1_000_000,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
    };
    gate.settle(request, { status: 200, usage, ok: true, durationMs: 1 });
    expect(gate.remaining({ sessionId: 'ses_1', scope: 'session', key: 'ses_1' }).spentUsd).toBeCloseTo(3, 6);
    limitUsd = 3;
    expect(gate.admit({ ...request, requestId: 'r2' }).ok).toBe(false);
  });
});

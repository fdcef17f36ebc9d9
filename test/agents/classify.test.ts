import type { SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  checkStructuredOutput,
  checkStructuredOutputBounded,
  classifyResultError,
  classifyThrown,
  fromApiStatus,
  outputValidator,
} from '../../src/agents/index.ts';
import { OrchestratorError } from '../../src/errors/index.ts';

const result = (value: Record<string, unknown>) =>
  ({ num_turns: 1, stop_reason: null, total_cost_usd: 0.5, errors: [], ...value }) as unknown as SDKResultMessage;

describe('classifyResultError', () => {
  it('maps each error subtype to a typed code with its retry verdict', () => {
    expect(classifyResultError(result({ subtype: 'error_max_turns', num_turns: 7 }), '')).toMatchObject({
      code: 'AGENT_MAX_TURNS',
      retryable: false,
      message: 'the agent used all of its 7 turns',
    });
    expect(classifyResultError(result({ subtype: 'error_max_budget_usd' }), '').code).toBe('BUDGET_EXHAUSTED');
    expect(classifyResultError(result({ subtype: 'error_max_structured_output_retries' }), '').code).toBe(
      'AGENT_OUTPUT_INVALID',
    );
  });

  it('tells an aborted run from a failed one', () => {
    const aborted = result({ subtype: 'error_during_execution', terminal_reason: 'aborted_tools' });
    expect(classifyResultError(aborted, '').code).toBe('AGENT_INTERRUPTED');
    const failed = classifyResultError(result({ subtype: 'error_during_execution', errors: ['boom', 'bang'] }), 'tail');
    expect(failed).toMatchObject({ code: 'AGENT_FAILED', message: 'boom; bang', retryable: false });
    expect(classifyResultError(result({ subtype: 'error_during_execution' }), 'stderr says').message).toBe(
      'stderr says',
    );
  });

  it("reads the API status of a 'success' result that is an error (retries exhausted)", () => {
    const overloaded = classifyResultError(
      result({ subtype: 'success', is_error: true, api_error_status: 529, result: 'API Error: 529 Overloaded' }),
      '',
    );
    expect(overloaded).toMatchObject({ code: 'AGENT_OVERLOADED', retryable: true, details: { status: 529 } });
    expect(overloaded.message).toContain('API Error: 529 Overloaded');
  });
});

describe('fromApiStatus', () => {
  it.each([
    [429, 'AGENT_RATE_LIMITED', true],
    [529, 'AGENT_OVERLOADED', true],
    [401, 'AGENT_AUTH_FAILED', false],
    [403, 'AGENT_AUTH_FAILED', false],
    [400, 'AGENT_INVALID_REQUEST', false],
    [413, 'AGENT_INVALID_REQUEST', false],
    [500, 'AGENT_API_ERROR', true],
    [503, 'AGENT_API_ERROR', true],
    [null, 'AGENT_NETWORK', true],
  ] as const)('status %s is %s (retryable %s)', (status, code, retryable) => {
    const error = fromApiStatus(status, 'm');
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
  });
});

describe('classifyThrown', () => {
  it('keeps typed errors, treats AbortError as an interrupt, anything else as a dead process', () => {
    const typed = new OrchestratorError('AGENT_TIMEOUT', 't');
    expect(classifyThrown(typed, { exitCode: null, stderrTail: '' })).toBe(typed);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(classifyThrown(abort, { exitCode: null, stderrTail: '' }).code).toBe('AGENT_INTERRUPTED');
    const died = classifyThrown(new Error('exited with code 1'), { exitCode: 1, stderrTail: 'segfault' });
    expect(died).toMatchObject({ code: 'AGENT_PROCESS_DIED', retryable: true, details: { exitCode: 1 } });
    expect(died.message).toContain('(stderr: segfault)');
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay with jitter between half and all of it', () => {
    const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 10_000 };
    expect(backoffDelay(retry, 1, () => 0)).toBe(50);
    expect(backoffDelay(retry, 1, () => 1)).toBe(100);
    expect(backoffDelay(retry, 3, () => 1)).toBe(400);
    expect(backoffDelay(retry, 3, () => 0.5)).toBe(300);
  });

  it('caps at maxDelayMs and has documented defaults', () => {
    expect(backoffDelay({ initialDelayMs: 100, maxDelayMs: 250 }, 10, () => 1)).toBe(250);
    expect(backoffDelay(undefined, 1, () => 1)).toBe(1000);
    expect(backoffDelay(undefined, 100, () => 1)).toBe(30_000);
    expect(backoffDelay(undefined, 0, () => 1)).toBe(1000);
  });

  it('never retries at once and stays within bounds for random jitter', () => {
    for (let i = 1; i <= 8; i++) {
      const delay = backoffDelay({ initialDelayMs: 10, maxDelayMs: 1000 }, i);
      const full = Math.min(1000, 10 * 2 ** (i - 1));
      expect(delay).toBeGreaterThanOrEqual(Math.floor(full / 2));
      expect(delay).toBeLessThanOrEqual(full);
    }
  });
});

describe('structured output check', () => {
  const schema = {
    type: 'object',
    properties: { email: { type: 'string', format: 'email' }, n: { type: 'integer', maximum: 3 } },
    required: ['email'],
  };

  it('accepts a matching value and explains a mismatch', () => {
    expect(checkStructuredOutput(schema, { email: 'a@b.dev', n: 2 })).toBeUndefined();
    expect(checkStructuredOutput(schema, { email: 'a@b.dev', n: 5 })).toContain('/n: 5 is greater than 3');
    expect(checkStructuredOutput(schema, undefined)).toContain('text only');
  });

  it("checks against a compiled workflow's schema, which is deeply frozen", () => {
    const freeze = (value: unknown): unknown => {
      if (value && typeof value === 'object') for (const inner of Object.values(value)) freeze(inner);
      return Object.freeze(value);
    };
    const frozen = freeze(structuredClone(schema)) as Record<string, unknown>;
    expect(checkStructuredOutput(frozen, { email: 'a@b.dev', n: 2 })).toBeUndefined();
    expect(checkStructuredOutput(frozen, { email: 'a@b.dev', n: 4 })).toContain('/n: 4 is greater than 3');
  });

  it('enforces formats (which Claude Code itself does not check)', () => {
    expect(checkStructuredOutput(schema, { email: 'not an address' })).toContain(
      '/email: String does not match format "email"',
    );
  });

  it('interprets a schema, never turns it into code: an agent can send one (add_nodes)', () => {
    const hostile = {
      type: 'object',
      properties: {
        "x'];globalThis.pwned=1;//": { type: 'string', enum: ["')+(globalThis.pwned=2)+('"], pattern: '^.*$' },
      },
      required: ["x'];globalThis.pwned=1;//"],
    };
    const RealFunction = globalThis.Function;
    let made = 0;
    globalThis.Function = new Proxy(RealFunction, {
      construct(target, args) {
        made++;
        return Reflect.construct(target, args);
      },
      apply(target, self, args) {
        made++;
        return Reflect.apply(target, self, args);
      },
    });
    try {
      expect(checkStructuredOutput(hostile, { "x'];globalThis.pwned=1;//": "')+(globalThis.pwned=2)+('" })).toBe(
        undefined,
      );
      expect(checkStructuredOutput(hostile, {})).toContain('does not have required property');
    } finally {
      globalThis.Function = RealFunction;
    }
    expect(made).toBe(0);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });

  it("checks an answer against a schema's patterns off the event loop, and gives up on one that never ends", {
    timeout: 20_000,
  }, async () => {
    const patterned = {
      type: 'object',
      properties: { s: { type: 'string', pattern: '^(a+)+$' }, code: { type: 'string', pattern: '^[A-Z]{3}$' } },
    };
    // Patterns still decide, for good and bad answers.
    expect(await checkStructuredOutputBounded(patterned, { s: 'aaa', code: 'ABC' })).toBeUndefined();
    expect(await checkStructuredOutputBounded(patterned, { code: 'abc' })).toContain(
      '/code: String does not match pattern',
    );
    // Forty a's and a bang: hours of backtracking for `^(a+)+$`. The check gives up in time,
    // and the event loop keeps turning meanwhile.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const started = performance.now();
    const problem = await checkStructuredOutputBounded(patterned, { s: `${'a'.repeat(40)}!` }, 500);
    clearInterval(ticker);
    expect(problem).toContain("could not be checked against the schema's patterns within 500 ms");
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(ticks).toBeGreaterThan(5);
    // A schema without patterns is checked at once, the same way.
    expect(await checkStructuredOutputBounded(schema, { email: 'a@b.dev', n: 9 })).toContain('/n: 9 is greater than 3');
    expect(await checkStructuredOutputBounded(schema, undefined)).toContain('text only');
  });

  it('rejects an invalid schema with INVALID_ARGUMENT, and compiles each schema object once', () => {
    expect(() => outputValidator({ type: 'no-such-type' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error,
    );
    // It names where the schema is wrong.
    expect(() => outputValidator({ type: 'object', properties: { n: { type: 'wrong' } } })).toThrow(
      /output schema is invalid: \/properties\/n\/type: /,
    );
    expect(outputValidator(schema)).toBe(outputValidator(schema));
  });
});

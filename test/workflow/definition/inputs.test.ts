import { describe, expect, it } from 'vitest';
import { isOrchestratorError } from '../../../src/errors/index.ts';
import {
  DEFAULT_RETRY_POLICY,
  defineWorkflow,
  parseDuration,
  resolveInputs,
  retryDelayMs,
} from '../../../src/workflow/index.ts';

const wf = defineWorkflow({
  name: 'inputs',
  inputs: {
    topic: { type: 'string' },
    count: { type: 'number', default: 2 },
    strict: { type: 'boolean', default: false },
    options: { type: 'object', default: { lint: true } },
    labels: { type: 'array', required: false },
  },
  agents: { a: {} },
  nodes: [{ id: 'n', agent: 'a', task: '{{ inputs.topic }}' }],
});

describe('resolveInputs', () => {
  it('fills defaults and keeps given values, frozen', () => {
    const inputs = resolveInputs(wf, { topic: 'csv', count: 7 });
    expect(inputs).toEqual({ topic: 'csv', count: 7, strict: false, options: { lint: true } });
    expect(Object.isFrozen(inputs.options)).toBe(true);
  });

  it('parses text values by declared type when asked', () => {
    expect(
      resolveInputs(wf, { topic: 'x', count: '3.5', strict: 'true', labels: '["a"]' }, { fromStrings: true }),
    ).toEqual({
      topic: 'x',
      count: 3.5,
      strict: true,
      options: { lint: true },
      labels: ['a'],
    });
  });

  it('lists every unknown, missing and mistyped input', () => {
    let error: unknown;
    try {
      resolveInputs(wf, { topik: 'x', count: 'many', options: [] });
    } catch (e) {
      error = e;
    }
    expect(isOrchestratorError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as { details: { problems: unknown } }).details.problems).toEqual([
      { input: 'topik', message: "unknown input; did you mean 'topic'?" },
      { input: 'topic', message: 'required input is missing (expected string)' },
      { input: 'count', message: 'expected number, received string "many"' },
      { input: 'options', message: 'expected object, received an array' },
    ]);
  });
});

describe('durations', () => {
  it('reads unit strings and whole milliseconds', () => {
    expect(parseDuration('500ms')).toEqual({ ms: 500 });
    expect(parseDuration('1h30m')).toEqual({ ms: 5_400_000 });
    expect(parseDuration('1.5s')).toEqual({ ms: 1500 });
    expect(parseDuration('2d')).toEqual({ ms: 172_800_000 });
    expect(parseDuration(250)).toEqual({ ms: 250 });
  });

  it('rejects ambiguous, negative, zero and overlong values instead of guessing or clamping', () => {
    for (const bad of ['10', '1M', '-1h', '10 minutes', '1 h', '0s', 'm', '', '30d']) {
      expect(parseDuration(bad), bad).toHaveProperty('error');
    }
    for (const bad of [0, -5, 1.5, 2 ** 31]) expect(parseDuration(bad), String(bad)).toHaveProperty('error');
  });

  it('accepts longer durations only up to a maximum the caller raises (ages, never timers)', () => {
    const year = 365 * 86_400_000;
    expect(parseDuration('30d', { maxMs: year })).toEqual({ ms: 30 * 86_400_000 });
    expect(parseDuration('366d', { maxMs: year })).toEqual({ error: `expected at most ${year} ms, received '366d'` });
    expect(parseDuration('30d')).toHaveProperty('error', expect.stringContaining('about 24.8 days'));
    expect(parseDuration('0d', { maxMs: year })).toHaveProperty('error');
  });
});

describe('retry policies', () => {
  it('grows the delay by the factor up to the maximum', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, attempts: 5 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(policy, attempt))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000,
    ]);
  });
});

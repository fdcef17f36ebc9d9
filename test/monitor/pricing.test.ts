import { describe, expect, it } from 'vitest';
import { costAt, PRICE_TABLE, priceOf, priceUsage } from '../../src/monitor/index.ts';

// What Claude Code 2.1.331 (SDK 0.3.331) reported as `modelUsage[model].costUSD` for one
// million tokens of each kind, asked through the scripted model server: the table must agree.
const OBSERVED: Record<string, [input: number, output: number, cacheRead: number, cacheWrite: number]> = {
  'claude-opus-5-5': [4, 20, 0.2, 5],
  'claude-opus-4-5': [5, 25, 0.5, 6.25],
  'claude-opus-4-7': [5, 25, 0.5, 6.25],
  'claude-sonnet-4-5': [3, 15, 0.3, 3.75],
  'claude-sonnet-5': [2, 10, 0.2, 2.5],
  'claude-sonnet-5-5': [2, 10, 0.1, 2.5],
  'claude-haiku-4-5': [1, 5, 0.1, 1.25],
  'claude-haiku-5-5': [0.5, 0.5, 0.05, 0.625],
  'claude-3-5-haiku-20241022': [0.8, 4, 0.08, 1],
};

const MILLION = 1_000_000;

describe('pricing', () => {
  it('matches the SDK list price of every observed family, per kind of token', () => {
    for (const [model, [input, output, read, write]] of Object.entries(OBSERVED)) {
      const at = (tokens: Parameters<typeof priceUsage>[1]) => priceUsage(model, tokens);
      expect(at({ inputTokens: MILLION, outputTokens: 0 }), model).toEqual({ costUsd: input, priced: true });
      expect(at({ inputTokens: 0, outputTokens: MILLION }).costUsd, model).toBeCloseTo(output, 9);
      expect(at({ inputTokens: 0, outputTokens: 0, cacheReadTokens: MILLION }).costUsd, model).toBeCloseTo(read, 9);
      expect(at({ inputTokens: 0, outputTokens: 0, cacheCreationTokens: MILLION }).costUsd, model).toBeCloseTo(
        write,
        9,
      );
    }
  });

  it('prices the demo run the way the SDK did: 2200 in, 70 out, 300 cache reads, 200 cache writes on opus 5.5', () => {
    const usage = { inputTokens: 2200, outputTokens: 70, cacheReadTokens: 300, cacheCreationTokens: 200 };
    expect(priceUsage('claude-opus-5-5', usage).costUsd).toBeCloseTo(0.01126, 12);
  });

  it('picks the longest matching family, ignores dates and provider prefixes', () => {
    expect(priceOf('claude-opus-4-5-20251101')?.input).toBe(5);
    expect(priceOf('claude-opus-4-1-20250805')?.input).toBe(15);
    expect(priceOf('us.anthropic.claude-sonnet-4-5-20250929-v1:0')?.input).toBe(3);
    expect(priceOf('claude-sonnet-5-5')?.cacheRead).toBe(0.1);
    expect(priceOf('claude-sonnet-5')?.cacheRead).toBe(0.2);
    expect(priceOf('gpt-4o')).toBeUndefined();
    expect(new Set(PRICE_TABLE.map((row) => row.prefix)).size).toBe(PRICE_TABLE.length);
  });

  it('prefers the model the SDK resolved an alias to', () => {
    // `claude-opus-4-1` was served as `claude-opus-5-5` by this Claude Code.
    const usage = { inputTokens: MILLION, outputTokens: 0, canonicalModel: 'claude-opus-5-5' };
    expect(priceUsage('claude-opus-4-1', usage).costUsd).toBe(4);
  });

  it("takes the SDK's figure for a model outside the table, and says so", () => {
    expect(priceUsage('mystery-model', { inputTokens: 10, outputTokens: 1, costUsd: 0.42 })).toEqual({
      costUsd: 0.42,
      priced: false,
    });
    expect(priceUsage(undefined, { inputTokens: 10, outputTokens: 1 })).toEqual({ costUsd: 0, priced: false });
  });

  it('prices cache writes of one hour at twice the input price', () => {
    const price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };
    const cost = costAt(price, {
      inputTokens: 0,
      outputTokens: 0,
      cacheCreationTokens: 3000,
      cacheCreation1hTokens: 1000,
    });
    expect(cost).toBeCloseTo((2000 * 3.75 + 1000 * 6) / MILLION, 12);
  });
});

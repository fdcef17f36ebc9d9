import { describe, expect, it } from 'vitest';
import {
  countInput,
  floorOf,
  IMAGE_TOKENS,
  inputRate,
  MOST_EXPENSIVE,
  nanoPriceOf,
  planAdmission,
  settlementCost,
  usageCost,
} from '../../src/gateway/index.ts';

// The gate's pure parts: prices in whole nano-dollars, the conservative input count, the
// reservation rule and what an ended request costs.

const SONNET = nanoPriceOf('claude-sonnet-4-5-20250929');

describe('prices in nano-dollars', () => {
  it('turns the monitor table into whole nano-dollars per token', () => {
    expect(SONNET).toEqual({ input: 3000, output: 15000, cacheRead: 300, cacheWrite: 3750 });
    expect(nanoPriceOf('claude-haiku-5')).toEqual({ input: 500, output: 500, cacheRead: 50, cacheWrite: 625 });
    expect(nanoPriceOf('us.anthropic.claude-3-haiku-20240307')).toEqual({
      input: 250,
      output: 1250,
      cacheRead: 30,
      cacheWrite: 300,
    });
  });

  it('prices an unknown model at the dearest price of each kind of token', () => {
    expect(nanoPriceOf('gpt-5')).toBe(MOST_EXPENSIVE);
    expect(MOST_EXPENSIVE).toEqual({ input: 15000, output: 75000, cacheRead: 1500, cacheWrite: 18750 });
  });

  it('reserves input at the dearest rate an input token can be billed at', () => {
    expect(inputRate(SONNET, false)).toBe(3750);
    expect(inputRate(SONNET, true)).toBe(6000);
    expect(inputRate(nanoPriceOf('claude-opus-5'), false)).toBe(5000);
  });

  it('prices usage, with cache writes at the 1-hour rate when the request asked for it', () => {
    const usage = {
      model: 'claude-sonnet-4-5',
      inputTokens: 10,
      outputTokens: 100,
      cacheReadTokens: 1000,
      cacheCreationTokens: 200,
    };
    expect(usageCost(usage, false)).toBe(10 * 3000 + 100 * 15000 + 1000 * 300 + 200 * 3750);
    expect(usageCost(usage, true)).toBe(10 * 3000 + 100 * 15000 + 1000 * 300 + 200 * 6000);
  });
});

describe('countInput', () => {
  it('counts ASCII at three characters a token and each other character as one', () => {
    const ascii = countInput({ messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    // 3000 characters, plus the keys (role, user, content) and the framing of one message.
    expect(ascii.tokens).toBe(4 + Math.ceil((3000 + 4 + 4 + 7) / 3));
    const accents = countInput({ messages: [{ role: 'user', content: 'é'.repeat(300) }] });
    expect(accents.tokens).toBe(4 + 300 + Math.ceil((4 + 4 + 7) / 3));
  });

  it('is never below the usual four characters a token on plain text', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
    const counted = countInput({ system: text, messages: [{ role: 'user', content: [{ type: 'text', text }] }] });
    expect(counted.tokens).toBeGreaterThan((2 * text.length) / 4);
  });

  it('counts an image as a fixed size, a base64 document by its length, tools with their prompt', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } };
    expect(countInput({ messages: [{ role: 'user', content: [image] }] }).tokens).toBeLessThan(IMAGE_TOKENS + 50);
    const pdf = {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: 'A'.repeat(30_000) },
    };
    expect(countInput({ messages: [{ role: 'user', content: [pdf] }] }).tokens).toBeGreaterThanOrEqual(10_000);
    const tools = [{ name: 'Read', description: 'Reads a file', input_schema: { type: 'object' } }];
    expect(countInput({ messages: [], tools }).tokens).toBeGreaterThan(500);
    expect(countInput({ messages: [], tools: [] }).tokens).toBe(0);
  });

  it('notices 1-hour cache writes and the thinking budget', () => {
    const cached = countInput({
      system: [{ type: 'text', text: 'you are', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [],
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(cached.oneHourCache).toBe(true);
    expect(cached.thinkingBudget).toBe(2048);
    const plain = countInput({ system: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] });
    expect(plain).toMatchObject({ oneHourCache: false, thinkingBudget: undefined });
    expect(countInput({ thinking: { type: 'adaptive' } }).thinkingBudget).toBeUndefined();
  });
});

describe('planAdmission', () => {
  const base = {
    inputTokens: 1000,
    inputRate: 3750,
    outputRate: 15000,
    maxTokens: 4096,
    minOutputTokens: 256,
  };

  it('reserves input and the whole output limit when that fits', () => {
    expect(planAdmission({ ...base, available: Number.POSITIVE_INFINITY })).toEqual({
      kind: 'asked',
      reserve: 1000 * 3750 + 4096 * 15000,
      maxTokens: 4096,
    });
    const exact = 1000 * 3750 + 4096 * 15000;
    expect(planAdmission({ ...base, available: exact }).kind).toBe('asked');
  });

  it('lowers max_tokens to the most that fits', () => {
    const available = 1000 * 3750 + 1750 * 15000 + 14_999;
    expect(planAdmission({ ...base, available })).toEqual({
      kind: 'lowered',
      reserve: 1000 * 3750 + 1750 * 15000,
      maxTokens: 1750,
    });
  });

  it('refuses below the floor, or when the input alone does not fit', () => {
    const available = 1000 * 3750 + 255 * 15000;
    expect(planAdmission({ ...base, available })).toEqual({ kind: 'refused', needed: 1000 * 3750 + 256 * 15000 });
    expect(planAdmission({ ...base, available: 1000 * 3750 - 1 }).kind).toBe('refused');
    expect(planAdmission({ ...base, available: -5 }).kind).toBe('refused');
  });

  it('keeps a small max_tokens as asked, and max_tokens above the thinking budget', () => {
    expect(floorOf({ maxTokens: 100, minOutputTokens: 256 })).toBe(100);
    expect(floorOf({ maxTokens: 32_000, minOutputTokens: 256, thinkingBudget: 10_000 })).toBe(10_001);
    const small = { ...base, maxTokens: 100, available: 1000 * 3750 + 100 * 15000 };
    expect(planAdmission(small).kind).toBe('asked');
    expect(planAdmission({ ...small, available: small.available - 1 }).kind).toBe('refused');
    const thinking = { ...base, maxTokens: 16_000, thinkingBudget: 8000 };
    expect(planAdmission({ ...thinking, available: 1000 * 3750 + 8000 * 15000 }).kind).toBe('refused');
    expect(planAdmission({ ...thinking, available: 1000 * 3750 + 9000 * 15000 })).toMatchObject({
      kind: 'lowered',
      maxTokens: 9000,
    });
  });
});

describe('settlementCost', () => {
  const held = { inputCost: 7_000_000, oneHourCache: false };
  const usage = {
    model: 'claude-sonnet-4-5',
    inputTokens: 100,
    outputTokens: 10,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
  };

  it('books the usage when any came, even of a cut stream', () => {
    expect(settlementCost({ status: 200, usage }, held)).toBe(100 * 3000 + 10 * 15000);
  });

  it('books the reserved input of an accepted request that reported no usage', () => {
    expect(settlementCost({ status: 200, usage: undefined }, held)).toBe(7_000_000);
  });

  it('books nothing when the upstream was never reached or answered with an error', () => {
    expect(settlementCost({ status: 0, usage: undefined }, held)).toBe(0);
    expect(settlementCost({ status: 529, usage: undefined }, held)).toBe(0);
    expect(settlementCost({ status: 400, usage: undefined }, held)).toBe(0);
  });
});

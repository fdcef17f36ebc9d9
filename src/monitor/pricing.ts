/**
 * Prices of model usage, per model family, in US dollars per million tokens.
 *
 * Cost is priced here from the SDK's per-model usage (`result.modelUsage`: main loop,
 * subagents and internal calls, cache reads and writes included) rather than taken from
 * `total_cost_usd` alone, so that every figure (per agent, node, workflow, session, model)
 * adds up and cache traffic is visible. The SDK's own estimate is kept beside ours
 * (`sdkCostUsd`) for comparison; with the table below they agree for every listed family.
 *
 * The table is Claude Code's built-in list prices as observed with Claude Code 2.1.331 (the
 * binary SDK 0.3.331 installs): each family was asked for 1M tokens of each kind against the
 * scripted model server and its `costUSD` read back. Cache writes are priced at the 5-minute
 * rate (`cacheWrite`); writes with a 1-hour lifetime at twice the input price, as Anthropic
 * bills them. A model matching no family is priced by the SDK's own figure for it, and
 * reported as such (`unpriced`). Update the table when the SDK's prices change; the pricing
 * test names the figures it was checked against.
 */

/** Dollars per million tokens of each kind. */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** Cache writes with a 5-minute lifetime (and writes whose lifetime is not reported). */
  readonly cacheWrite: number;
}

/** One row of the price table: model ids starting with `prefix` (longest prefix wins). */
export interface PriceRow extends ModelPrice {
  readonly prefix: string;
}

/** The price table: Claude Code 2.1.331's list prices (see the module comment). */
export const PRICE_TABLE: readonly PriceRow[] = Object.freeze([
  { prefix: 'claude-opus-5', input: 4, output: 20, cacheRead: 0.2, cacheWrite: 5 },
  { prefix: 'claude-opus-4-5', input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  { prefix: 'claude-opus-4-6', input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  { prefix: 'claude-opus-4-7', input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  { prefix: 'claude-opus-4', input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
  { prefix: 'claude-3-opus', input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
  { prefix: 'claude-sonnet-5-5', input: 2, output: 10, cacheRead: 0.1, cacheWrite: 2.5 },
  { prefix: 'claude-sonnet-5', input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
  { prefix: 'claude-sonnet-4', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  { prefix: 'claude-3-7-sonnet', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  { prefix: 'claude-3-5-sonnet', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  { prefix: 'claude-haiku-5', input: 0.5, output: 0.5, cacheRead: 0.05, cacheWrite: 0.625 },
  { prefix: 'claude-haiku-4', input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  { prefix: 'claude-3-5-haiku', input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
  { prefix: 'claude-3-haiku', input: 0.25, output: 1.25, cacheRead: 0.03, cacheWrite: 0.3 },
]);

// Longest prefix first, so `claude-opus-4-5` is not priced as `claude-opus-4`.
const BY_PREFIX = [...PRICE_TABLE].sort((a, b) => b.prefix.length - a.prefix.length);
const cache = new Map<string, ModelPrice | null>();

/**
 * The price of a model id (`claude-sonnet-4-5-20250929`, `claude-opus-5-5`), or undefined
 * when no family matches. Provider prefixes such as `us.anthropic.` are ignored.
 */
export function priceOf(model: string): ModelPrice | undefined {
  let found = cache.get(model);
  if (found === undefined) {
    const id = model.toLowerCase().replace(/^(?:[a-z]+\.)?anthropic\./, '');
    found = BY_PREFIX.find((row) => id.startsWith(row.prefix)) ?? null;
    cache.set(model, found);
  }
  return found ?? undefined;
}

/** Token counts of one model, as the catalog spells them. */
export interface TokenCounts {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens?: number | undefined;
  readonly cacheCreationTokens?: number | undefined;
  /** Part of `cacheCreationTokens` written with a 1-hour lifetime. */
  readonly cacheCreation1hTokens?: number | undefined;
}

/** The cost of some tokens at a price, in dollars. */
export function costAt(price: ModelPrice, tokens: TokenCounts): number {
  const writes = tokens.cacheCreationTokens ?? 0;
  const hour = Math.min(writes, tokens.cacheCreation1hTokens ?? 0);
  return (
    (tokens.inputTokens * price.input +
      tokens.outputTokens * price.output +
      (tokens.cacheReadTokens ?? 0) * price.cacheRead +
      (writes - hour) * price.cacheWrite +
      hour * price.input * 2) /
    1_000_000
  );
}

/** The cost of one model's usage: priced by the table, else the SDK's figure (`priced: false`). */
export function priceUsage(
  model: string | undefined,
  tokens: TokenCounts & { readonly costUsd?: number | undefined; readonly canonicalModel?: string | undefined },
): { readonly costUsd: number; readonly priced: boolean } {
  const price = priceOf(tokens.canonicalModel ?? model ?? '') ?? (model ? priceOf(model) : undefined);
  if (price) return { costUsd: costAt(price, tokens), priced: true };
  return { costUsd: tokens.costUsd ?? 0, priced: false };
}

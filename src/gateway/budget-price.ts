import { type ModelPrice, PRICE_TABLE, priceOf } from '../monitor/index.ts';
import type { WireUsage } from './contract.ts';

/**
 * Prices and token counts for the budget gate, in whole nano-dollars (1e-9 USD). List prices
 * per million tokens have at most three decimals, so a token's price is a whole number of
 * nano-dollars and every sum the gate keeps is an exact integer: comparisons against a limit
 * carry no floating-point drift, and the bound the gate proves holds to the nano-dollar.
 */

/** Nano-dollars per token of each kind (whole numbers). */
export interface NanoPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** Cache writes with a 5-minute lifetime. */
  readonly cacheWrite: number;
}

/** Dollars per million tokens to nano-dollars per token, rounded up (a price with more than three decimals). */
function nano(perMillion: number): number {
  return Math.ceil(Math.round(perMillion * 1_000_000) / 1000);
}

function toNano(price: ModelPrice): NanoPrice {
  return {
    input: nano(price.input),
    output: nano(price.output),
    cacheRead: nano(price.cacheRead),
    cacheWrite: nano(price.cacheWrite),
  };
}

/**
 * The price a model id is reserved and booked at. A model no row of the monitor's table
 * matches is priced at the most expensive known price of each kind of token (each kind's
 * highest price over the table), so an unknown model can only be over-reserved, never under.
 */
export function nanoPriceOf(model: string): NanoPrice {
  const price = priceOf(model);
  return price ? toNano(price) : MOST_EXPENSIVE;
}

/** Each kind of token at its highest price in the table. */
export const MOST_EXPENSIVE: NanoPrice = Object.freeze(
  toNano({
    input: Math.max(...PRICE_TABLE.map((row) => row.input)),
    output: Math.max(...PRICE_TABLE.map((row) => row.output)),
    cacheRead: Math.max(...PRICE_TABLE.map((row) => row.cacheRead)),
    cacheWrite: Math.max(...PRICE_TABLE.map((row) => row.cacheWrite)),
  }),
);

/**
 * The price of one input token whatever the API makes of it: plain input, a cache read, a
 * 5-minute cache write, or (when the request asks for any) a 1-hour write at twice the input
 * price. Reserving input at this rate covers every split of the input among those kinds.
 */
export function inputRate(price: NanoPrice, oneHourCache: boolean): number {
  return Math.max(price.input, price.cacheRead, price.cacheWrite, oneHourCache ? 2 * price.input : 0);
}

/**
 * The cost of a response's usage in nano-dollars. The wire does not say which cache writes
 * had a 1-hour lifetime; when the request asked for one, all its writes are booked at that
 * (higher) rate.
 */
export function usageCost(usage: WireUsage, oneHourCache: boolean): number {
  const price = nanoPriceOf(usage.model);
  const write = oneHourCache ? Math.max(price.cacheWrite, 2 * price.input) : price.cacheWrite;
  return (
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheReadTokens * price.cacheRead +
    usage.cacheCreationTokens * write
  );
}

/** All the input tokens of a response: plain, read from the cache and written to it. */
export function usageInputTokens(usage: WireUsage): number {
  return usage.inputTokens + usage.cacheReadTokens + usage.cacheCreationTokens;
}

/** Nano-dollars as dollars. */
export function usd(nanoDollars: number): number {
  return nanoDollars / 1e9;
}

/** Dollars as nano-dollars, rounded down: a limit is never raised by the conversion. */
export function nanoOf(dollars: number): number {
  return Math.floor(Math.round(dollars * 1e12) / 1000);
}

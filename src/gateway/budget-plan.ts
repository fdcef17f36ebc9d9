import { usageCost, usageInputTokens } from './budget-price.ts';
import type { RequestEnd } from './contract.ts';

/**
 * The budget gate's two decisions, pure and over whole nano-dollars: how much a request may
 * reserve (and with which `max_tokens`), and what it costs once it ended.
 *
 * The reservation rule: a request reserves `input × inputRate + max_tokens × outputRate`, its
 * most possible cost (the input at the dearest rate any input token can be billed at, the
 * output at the limit the API never exceeds). When that is more than `available` (what the
 * tightest covering limit has left after what was booked and what other requests hold),
 * `max_tokens` is lowered to the most that fits; below `floor` tokens (or when the input alone
 * does not fit) the request is refused.
 */

/** What an admission is decided on. */
export interface AdmissionInput {
  /** Nano-dollars left under the tightest covering limit; `Infinity` when no limit applies. */
  readonly available: number;
  readonly inputTokens: number;
  /** Nano-dollars per input token (see `inputRate`). */
  readonly inputRate: number;
  /** Nano-dollars per output token. */
  readonly outputRate: number;
  /** `max_tokens` as asked. */
  readonly maxTokens: number;
  /** The smallest `max_tokens` worth forwarding (a request asking for less keeps what it asked). */
  readonly minOutputTokens: number;
  /** Extended thinking's `budget_tokens`: the API refuses a `max_tokens` not above it. */
  readonly thinkingBudget?: number | undefined;
}

/** The decision: forward as asked, forward with fewer output tokens, or refuse. */
export type AdmissionPlan =
  | { readonly kind: 'asked'; readonly reserve: number; readonly maxTokens: number }
  | { readonly kind: 'lowered'; readonly reserve: number; readonly maxTokens: number }
  | {
      readonly kind: 'refused';
      /** What the smallest acceptable request would have reserved. */
      readonly needed: number;
    };

/** Decides one admission (see the module comment for the rule). */
export function planAdmission(input: AdmissionInput): AdmissionPlan {
  const inputCost = input.inputTokens * input.inputRate;
  const asked = inputCost + input.maxTokens * input.outputRate;
  if (asked <= input.available) return { kind: 'asked', reserve: asked, maxTokens: input.maxTokens };
  const floor = floorOf(input);
  const fits = input.outputRate === 0 ? input.maxTokens : Math.floor((input.available - inputCost) / input.outputRate);
  if (fits < floor || fits < 1) return { kind: 'refused', needed: inputCost + floor * input.outputRate };
  return { kind: 'lowered', reserve: inputCost + fits * input.outputRate, maxTokens: fits };
}

/** The fewest output tokens a request may be lowered to. */
export function floorOf(input: Pick<AdmissionInput, 'maxTokens' | 'minOutputTokens' | 'thinkingBudget'>): number {
  const thinking = input.thinkingBudget === undefined ? 0 : input.thinkingBudget + 1;
  return Math.min(input.maxTokens, Math.max(input.minOutputTokens, thinking));
}

/** What a held reservation remembers for its settlement. */
export interface HeldCost {
  /** The input part of the reservation (its tokens at the input rate). */
  readonly inputCost: number;
  readonly oneHourCache: boolean;
}

/**
 * What an ended request costs, in nano-dollars:
 * - its usage priced, when any came (a cut stream's last reported usage: what it said so far);
 * - without usage, after the upstream accepted it (2xx: a stream cut before `message_start`,
 *   a body that did not parse): the input as reserved, since the input may have been
 *   processed and billed; conservative, as the input is counted high and at the dearest rate;
 * - nothing when the upstream was never reached (status 0) or refused it (an error status:
 *   the API does not bill a request it answers with an error).
 */
export function settlementCost(end: Pick<RequestEnd, 'status' | 'usage'>, held: HeldCost): number {
  if (end.usage) return usageCost(end.usage, held.oneHourCache);
  if (end.status >= 200 && end.status < 300) return held.inputCost;
  return 0;
}

/**
 * What an ended request used, in tokens, against token limits: its whole input (cache reads
 * and writes included) plus its output when usage came; without usage, after the upstream
 * accepted it, the input as reserved (`heldInputTokens`); nothing when never reached or refused.
 */
export function settlementTokens(end: Pick<RequestEnd, 'status' | 'usage'>, heldInputTokens: number): number {
  if (end.usage) return usageInputTokens(end.usage) + end.usage.outputTokens;
  if (end.status >= 200 && end.status < 300) return heldInputTokens;
  return 0;
}

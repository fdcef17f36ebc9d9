/**
 * The model gateway: an Anthropic Messages API reverse proxy on loopback that every agent talks
 * to. The model key never enters an agent's process; usage is read from the wire per request;
 * budgets, rate limits, retries and record/replay are decided in one place.
 */

export type {
  BudgetFigures,
  BudgetGate,
  BudgetGateOptions,
  ExhaustedData,
  GateLimit,
  Reservation,
} from './budget-gate.ts';
export { budgetGate, MIN_OUTPUT_TOKENS } from './budget-gate.ts';
export type { GateScope, ScopeRef } from './budget-ledger.ts';
export { accountsOf } from './budget-ledger.ts';
export type { AdmissionInput, AdmissionPlan } from './budget-plan.ts';
export { floorOf, planAdmission, settlementCost } from './budget-plan.ts';
export type { NanoPrice } from './budget-price.ts';
export { inputRate, MOST_EXPENSIVE, nanoPriceOf, usageCost } from './budget-price.ts';
export type { ScopeSpend } from './budget-seed.ts';
export { exhaustedIn, spentByScope } from './budget-seed.ts';
export type { Cassette, CassetteOptions } from './cassette.ts';
export { buildCassette, cassetteToYaml, loadRecording } from './cassette.ts';
export type {
  Admission,
  AgentIdentity,
  Exchange,
  GatewayHooks,
  GatewayRequest,
  RequestEnd,
  WireUsage,
} from './contract.ts';
export type { Deadline } from './deadlines.ts';
export { DeadlineSweep, tickFor } from './deadlines.ts';
export { Hangup } from './hangup.ts';
export type { InputCount } from './input-count.ts';
export { countInput, IMAGE_TOKENS } from './input-count.ts';
export type { Gateway, GatewayLog, GatewayOptions, GatewayStats } from './proxy.ts';
export { startGateway } from './proxy.ts';
export type {
  MemoryRateLimitStoreOptions,
  RateLimiterOptions,
  RateLimitStore,
  RateRequest,
  RateTicket,
  TakeResult,
} from './rate-limits.ts';
export { MemoryRateLimitStore, RateLimiter, rateKeyOf } from './rate-limits.ts';
export type {
  Bucket,
  Buckets,
  Learned,
  LearnedLimit,
  RateCost,
  RateKind,
  RateLimits,
  TakeDecision,
  Waiter,
} from './rate-plan.ts';
export {
  applyLearned,
  bucketOf,
  bucketsOf,
  costDifference,
  costOf,
  DEFAULT_BURST_MS,
  giveBack,
  hasLearned,
  learnedOf,
  pickNext,
  RATE_KINDS,
  refill,
  take,
} from './rate-plan.ts';
export type { ExchangeRecorderOptions } from './recorder.ts';
export { ExchangeRecorder } from './recorder.ts';
export type { RecordedExchange } from './recording.ts';
export { EXCHANGE_ENTRY_TYPE, RECORDINGS_PROJECT, recordingKey, toRecordedExchange } from './recording.ts';
export type { FaultKind, RetrySettings } from './retry.ts';
export { classify, isRetryableStatus, PauseGate, retryAfterMs, retryDelayMs } from './retry.ts';
export type { AgentToken } from './tokens.ts';
export { TOKEN_PREFIX } from './tokens.ts';
export { RequestBody, SseUsageReader, SubagentTracker, usageOfJson } from './wire.ts';

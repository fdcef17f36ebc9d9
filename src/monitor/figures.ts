import type { NodeMetrics } from './metrics-state.ts';

/**
 * The figures every scope (agent, node, workflow, agent type, session) carries. Plain JSON
 * (records, numbers), so a metrics state can be snapshotted with `JSON.stringify` and carried
 * on exactly where a full replay would be.
 */

/** A running summary of durations: count, total and maximum (the mean is total / count). */
export interface Timing {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Counters and timings of one scope. */
export interface Figures {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Cost priced from per-model usage (see `pricing.ts`), in US dollars. */
  costUsd: number;
  /** The SDK's own estimate (`total_cost_usd`) summed, for comparison. */
  sdkCostUsd: number;
  /** Part of `costUsd` taken from the SDK because the model matched no price family. */
  unpricedCostUsd: number;
  /** Model responses (one per `agent.usage`; subagents' included). */
  turns: number;
  toolCalls: number;
  toolCallsByTool: Record<string, number>;
  /** Tool results marked as errors. */
  toolErrors: number;
  /** Agent attempts that failed (interruptions excluded), and by error code. */
  errors: number;
  errorsByKind: Record<string, number>;
  /** Agent attempts stopped on purpose (interrupt, pause, shutdown). */
  interruptions: number;
  /** Retries, by Claude Code inside an attempt and by the orchestrator between attempts. */
  retries: number;
  /** Agents spawned. */
  agents: number;
  /** The largest context seen: input + cache tokens of one model request. */
  maxContextTokens: number;
  /** Time to first token of each model response (from the request; the first includes start-up). */
  ttft: Timing;
  /** Time of each model response, from the request to its last token. */
  turnTime: Timing;
  /** Wall time of each agent, from spawn to its final outcome. */
  agentTime: Timing;
}

/** Token and cost figures of one model. */
export interface ModelFigures {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  sdkCostUsd: number;
}

/** A zeroed timing. */
export function emptyTiming(): Timing {
  return { count: 0, totalMs: 0, maxMs: 0 };
}

/** Zeroed figures, each breakdown and timing its own (a node's share zeros: {@link nodeFigures}). */
export function emptyFigures(): Figures {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: 0,
    sdkCostUsd: 0,
    unpricedCostUsd: 0,
    turns: 0,
    toolCalls: 0,
    toolCallsByTool: {},
    toolErrors: 0,
    errors: 0,
    errorsByKind: {},
    interruptions: 0,
    retries: 0,
    agents: 0,
    maxContextTokens: 0,
    ttft: emptyTiming(),
    turnTime: emptyTiming(),
    agentTime: emptyTiming(),
  };
}

/** Adds one duration to a timing. */
export function observe(timing: Timing, ms: number): void {
  timing.count++;
  timing.totalMs += ms;
  if (ms > timing.maxMs) timing.maxMs = ms;
}

/** The timings of figures, by name. */
export type TimingField = 'ttft' | 'turnTime' | 'agentTime';
/** The breakdowns of figures, by name. */
export type CountsField = 'toolCallsByTool' | 'errorsByKind';

// The zeros that a node's figures ({@link nodeFigures}) share until they are first written.
const ZERO_TIMING: Timing = Object.freeze({ count: 0, totalMs: 0, maxMs: 0 }) as Timing;
const NO_COUNTS: Record<string, number> = Object.freeze({}) as Record<string, number>;

/**
 * The zeroed figures of a node not started yet. Its breakdowns and timings are shared zeros
 * until written (through {@link bumpIn} and {@link observeIn}, which give them their own
 * first): a run makes one per node, and a node without an agent (a function, a human) never
 * writes them, five objects less per node of a 10,000-node run; frozen, so a write that
 * bypasses those throws, never shares. One literal with every field a node ever gets, its
 * times unset: figures made first and a node's fields added after took 1-2 us a node (each
 * addition a new hidden class, and a larger property store).
 */
export function nodeFigures(nodeId: string): NodeMetrics {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: 0,
    sdkCostUsd: 0,
    unpricedCostUsd: 0,
    turns: 0,
    toolCalls: 0,
    toolCallsByTool: NO_COUNTS,
    toolErrors: 0,
    errors: 0,
    errorsByKind: NO_COUNTS,
    interruptions: 0,
    retries: 0,
    agents: 0,
    maxContextTokens: 0,
    ttft: ZERO_TIMING,
    turnTime: ZERO_TIMING,
    agentTime: ZERO_TIMING,
    nodeId,
    status: 'pending',
    nodeAttempts: 0,
    nodeRetries: 0,
    nodeInterruptions: 0,
    startedAt: undefined,
    endedAt: undefined,
    durationMs: undefined,
  };
}

/** A timing of `figures` to write to: its own (made now when it was the shared zero). */
function timingOf(figures: Figures, field: TimingField): Timing {
  let timing = figures[field];
  if (timing === ZERO_TIMING) {
    timing = emptyTiming();
    figures[field] = timing;
  }
  return timing;
}

/** Adds one duration to a timing of `figures` (see {@link nodeFigures}). */
export function observeIn(figures: Figures, field: TimingField, ms: number): void {
  observe(timingOf(figures, field), ms);
}

/** Adds to a count of a breakdown of `figures` (see {@link nodeFigures}). */
export function bumpIn(figures: Figures, field: CountsField, key: string, by = 1): void {
  let counts = figures[field];
  if (counts === NO_COUNTS) {
    counts = {};
    figures[field] = counts;
  }
  bump(counts, key, by);
}

/** The mean of a timing in milliseconds, or undefined when it has no samples. */
export function meanMs(timing: Timing): number | undefined {
  return timing.count === 0 ? undefined : timing.totalMs / timing.count;
}

/** Adds one to a count in a record. */
export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Tokens and cost of a change, applied to several scopes at once. */
export interface Spend {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number;
  unpricedCostUsd: number;
}

/** A zero spend. */
export function noSpend(): Spend {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: 0,
    unpricedCostUsd: 0,
  };
}

/** Adds a spend (possibly negative: a correction) to figures. */
export function addSpend(figures: Spend, spend: Spend): void {
  figures.inputTokens += spend.inputTokens;
  figures.outputTokens += spend.outputTokens;
  figures.cacheReadTokens += spend.cacheReadTokens;
  figures.cacheCreationTokens += spend.cacheCreationTokens;
  figures.costUsd += spend.costUsd;
  figures.unpricedCostUsd += spend.unpricedCostUsd;
}

/** `a - b`, field by field. */
export function spendDifference(a: Spend, b: Spend): Spend {
  return {
    inputTokens: a.inputTokens - b.inputTokens,
    outputTokens: a.outputTokens - b.outputTokens,
    cacheReadTokens: a.cacheReadTokens - b.cacheReadTokens,
    cacheCreationTokens: a.cacheCreationTokens - b.cacheCreationTokens,
    costUsd: a.costUsd - b.costUsd,
    unpricedCostUsd: a.unpricedCostUsd - b.unpricedCostUsd,
  };
}

/** Adds `from` into `into` (every counter, timing and breakdown): for summaries over sessions. */
export function mergeFigures(into: Figures, from: Figures): void {
  addSpend(into, from);
  into.sdkCostUsd += from.sdkCostUsd;
  into.turns += from.turns;
  into.toolCalls += from.toolCalls;
  for (const [tool, n] of Object.entries(from.toolCallsByTool)) bumpIn(into, 'toolCallsByTool', tool, n);
  into.toolErrors += from.toolErrors;
  into.errors += from.errors;
  for (const [kind, n] of Object.entries(from.errorsByKind)) bumpIn(into, 'errorsByKind', kind, n);
  into.interruptions += from.interruptions;
  into.retries += from.retries;
  into.agents += from.agents;
  into.maxContextTokens = Math.max(into.maxContextTokens, from.maxContextTokens);
  for (const key of ['ttft', 'turnTime', 'agentTime'] as const) {
    if (from[key].count === 0) continue;
    const timing = timingOf(into, key);
    timing.count += from[key].count;
    timing.totalMs += from[key].totalMs;
    timing.maxMs = Math.max(timing.maxMs, from[key].maxMs);
  }
}

import { z } from 'zod';
import type { MetricsState, StatsRow } from '../monitor/index.ts';
import type { BudgetLine } from './budgets.ts';
import type { CostReport } from './cost.ts';
import type { OriginReport } from './origin.ts';
import type { SessionReport } from './session-report.ts';
import type { SessionRow } from './session-rows.ts';
import type { StatisticsReport } from './statistics.ts';
import type { VersionRow } from './version-rows.ts';

/**
 * The read models as zod schemas: the contract the HTTP API validates its responses with and
 * derives its OpenAPI document from. Each schema is checked against its TypeScript type at
 * the bottom of this file, both ways, so the two cannot drift apart.
 */

const count = z.number().int().nonnegative();
const usd = z.number();
const iso = z.string();

const timing = z.object({ count, totalMs: z.number().nonnegative(), maxMs: z.number().nonnegative() });

const spend = {
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheCreationTokens: z.number(),
  costUsd: usd,
  unpricedCostUsd: usd,
};

/** The figures every scope carries (see `Figures` in the monitor). */
export const figuresSchema = z.object({
  ...spend,
  sdkCostUsd: usd,
  turns: count,
  toolCalls: count,
  toolCallsByTool: z.record(z.string(), count),
  toolErrors: count,
  errors: count,
  errorsByKind: z.record(z.string(), count),
  interruptions: count,
  retries: count,
  agents: count,
  maxContextTokens: z.number().nonnegative(),
  ttft: timing,
  turnTime: timing,
  agentTime: timing,
});

const agentMetricsSchema = figuresSchema.extend({
  agentId: z.string(),
  agentType: z.string(),
  nodeId: z.string().optional(),
  workflowId: z.string().optional(),
  model: z.string().optional(),
  state: z.string(),
  active: z.boolean(),
  spawnedAt: iso,
  endedAt: iso.optional(),
  outcome: z.enum(['completed', 'failed', 'interrupted']).optional(),
  attempts: count,
  contextTokens: z.number().nonnegative(),
  peakRssBytes: z.number().nonnegative(),
  live: z.object({ ...spend, responses: count }),
  wire: z.literal(true).optional(),
  subagents: z.record(z.string(), z.object({ ...spend, requests: count })).optional(),
  unreportedUsd: usd.optional(),
  inheritedFrom: z.string().optional(),
});

const nodeMetricsSchema = figuresSchema.extend({
  nodeId: z.string(),
  status: z.string(),
  nodeAttempts: count,
  nodeRetries: count,
  nodeInterruptions: count,
  startedAt: iso.optional(),
  endedAt: iso.optional(),
  durationMs: z.number().nonnegative().optional(),
});

const workflowMetricsSchema = figuresSchema.extend({
  workflowId: z.string(),
  name: z.string(),
  status: z.string(),
  startedAt: iso,
  endedAt: iso.optional(),
  durationMs: z.number().nonnegative().optional(),
  stepsCompleted: count,
  failedNodes: count,
  nodes: z.record(z.string(), nodeMetricsSchema),
  rolledBack: z.literal(true).optional(),
  compensations: z.object({ ok: count, failed: count }).optional(),
  downtimeMs: z.number().nonnegative().optional(),
});

const sessionFiguresSchema = figuresSchema.extend({
  stepsCompleted: count,
  humanInterventions: count,
  activeAgents: count,
  peakConcurrency: count,
  peakRssBytes: z.number().nonnegative(),
  peakProcessRssBytes: z.number().nonnegative(),
  peakSpareRssBytes: z.number().nonnegative(),
});

const modelFiguresSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheCreationTokens: z.number(),
  costUsd: usd,
  sdkCostUsd: usd,
});

const activeAlertSchema = z.object({
  rule: z.string(),
  severity: z.string(),
  message: z.string(),
  value: z.number().optional(),
  threshold: z.number().optional(),
  scope: z.string().optional(),
  scopeId: z.string().optional(),
  raisedAt: iso,
});

const exhaustedBudgetSchema = z.looseObject({
  scope: z.enum(['session', 'workflow', 'agentType', 'node', 'agent']),
  key: z.string(),
  limitUsd: z.number().nonnegative().optional(),
  spentUsd: z.number().nonnegative().optional(),
  limitTokens: z.number().int().nonnegative().optional(),
  spentTokens: z.number().int().nonnegative().optional(),
  action: z.enum(['pause', 'fail']),
  workflowId: z.string().optional(),
  at: iso,
});

const originSchema = z.object({
  kind: z.enum(['fork', 'import']),
  fromSessionId: z.string(),
  fromSeq: count.optional(),
  fromVersion: z.number().int().positive().optional(),
  fromStore: z.string().optional(),
  seq: count,
  at: iso,
});

const spanSchema = z.object({ from: iso, to: iso });

/** Every figure of one session (the monitor's `MetricsState`). */
export const metricsStateSchema = z.object({
  sessionId: z.string(),
  lastSeq: count,
  name: z.string().optional(),
  firstAt: iso.optional(),
  lastAt: iso.optional(),
  session: sessionFiguresSchema,
  workflows: z.record(z.string(), workflowMetricsSchema),
  agents: z.record(z.string(), agentMetricsSchema),
  agentTypes: z.record(z.string(), figuresSchema),
  models: z.record(z.string(), modelFiguresSchema),
  activeAlerts: z.record(z.string(), activeAlertSchema),
  alertsRaised: count,
  budgets: z.array(exhaustedBudgetSchema),
  origins: z.array(originSchema),
  downtime: z.array(spanSchema),
  lastOwnedAt: iso.optional(),
});

const statusSchema = z.enum([
  'completed',
  'failed',
  'cancelled',
  'running',
  'paused',
  'awaiting_input',
  'rolling_back',
  'empty',
  'interrupted',
]);

/** {@link CostReport}: one cost figure, Claude Code's estimate beside it, the difference accounted for. */
export const costReportSchema = z.object({
  costUsd: usd,
  sdkCostUsd: usd,
  differenceUsd: usd,
  unreportedUsd: usd,
  unreportedAgents: count,
  pricingUsd: usd,
  unpricedUsd: usd,
  pricedFrom: z.enum(['wire', 'usage', 'mixed', 'none']),
  inheritedUsd: usd,
});

/** {@link OriginReport}: the fork or import a session's history came from. */
export const originReportSchema = originSchema.extend({
  inheritedAgents: count,
  inheritedCostUsd: usd,
  inheritedSdkCostUsd: usd,
  earlier: z.array(originSchema),
});

/** {@link SessionReport}: `sessions show --json`, `GET /v1/sessions/:id`. */
export const sessionReportSchema = z.object({
  sessionId: z.string(),
  events: count,
  firstEventAt: iso.optional(),
  lastEventAt: iso.optional(),
  byType: z.record(z.string(), count),
  status: statusSchema,
  resumable: z.boolean(),
  owner: z.object({ host: z.string(), pid: z.number().int(), since: iso, expiresAt: iso }).optional(),
  activeMs: z.number().nonnegative(),
  downtimeMs: z.number().nonnegative(),
  cost: costReportSchema,
  origin: originReportSchema.optional(),
  metrics: metricsStateSchema,
});

const statsRowSchema = figuresSchema.extend({ key: z.string(), sessions: count });

/** {@link StatisticsReport}: `stats --json`, `GET /v1/statistics`. */
export const statisticsReportSchema = z.object({
  by: z.enum(['agent-type', 'workflow', 'day']),
  rows: z.array(statsRowSchema),
  total: statsRowSchema,
  skipped: z.array(z.object({ sessionId: z.string(), code: z.string(), message: z.string() })),
});

/** {@link SessionRow}: a line of `sessions list --json`, an item of `GET /v1/sessions`. */
export const sessionRowSchema = z.object({
  sessionId: z.string(),
  lastSeq: count,
  createdAt: iso,
  updatedAt: iso,
  status: z.union([statusSchema, z.literal('unreadable')]).optional(),
  resumable: z.boolean().optional(),
  workflow: z.string().optional(),
  costUsd: usd.optional(),
  tokens: z.number().nonnegative().optional(),
  durationMs: z.number().nonnegative().optional(),
  simulated: z.boolean().optional(),
  agents: count.optional(),
  origin: z.string().optional(),
  owner: z.object({ host: z.string(), pid: z.number().int() }).optional(),
  unreadable: z.string().optional(),
  error: z.string().optional(),
});

/** {@link BudgetLine}: a limit in force over a session's work, what was spent against it and what is left. */
export const budgetLineSchema = z.object({
  scope: z.enum(['session', 'workflow', 'agentType', 'node']),
  key: z.string(),
  workflowId: z.string().optional(),
  nodeId: z.string().optional(),
  limitUsd: z.number().nonnegative().optional(),
  spentUsd: z.number(),
  leftUsd: z.number().nonnegative().optional(),
  limitTokens: z.number().nonnegative().optional(),
  spentTokens: z.number().nonnegative().optional(),
  leftTokens: z.number().nonnegative().optional(),
  reached: z.boolean(),
  action: z.enum(['fail', 'pause']),
});

/** {@link VersionRow}: a line of `sessions versions --json`. */
export const versionRowSchema = z.object({
  sessionId: z.string(),
  version: z.number().int().positive(),
  seq: count,
  label: z.string().nullable(),
  createdAt: iso,
  schemaVersion: z.number().int(),
  checksum: z.string(),
  workspaceCommit: z.string().nullable(),
  newBytes: count,
});

// Each schema's output type and its TypeScript type accept each other: tsc fails here when a
// field is added to one and not the other, or typed differently. (Optional keys are compared
// as present: JSON does not tell a missing key from an undefined one either.)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Plain<T> = T extends readonly unknown[]
  ? Plain<T[number]>[]
  : T extends object
    ? { -readonly [K in keyof T]-?: Plain<Exclude<T[K], undefined>> }
    : T;
type Checked<S extends z.ZodType, T> = Same<Plain<z.output<S>>, Plain<T>>;
const schemasMatch: [
  Checked<typeof metricsStateSchema, MetricsState>,
  Checked<typeof statsRowSchema, StatsRow>,
  Checked<typeof statisticsReportSchema, StatisticsReport>,
  Checked<typeof sessionReportSchema, SessionReport>,
  Checked<typeof sessionRowSchema, SessionRow>,
  Checked<typeof versionRowSchema, VersionRow>,
  Checked<typeof costReportSchema, CostReport>,
  Checked<typeof originReportSchema, OriginReport>,
  Checked<typeof budgetLineSchema, BudgetLine>,
] = [true, true, true, true, true, true, true, true, true];
void schemasMatch;

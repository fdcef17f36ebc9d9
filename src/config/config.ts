import path from 'node:path';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';

/**
 * Everything the orchestrator reads from its environment, in one place. Defaults live here
 * and nowhere else; the result is validated once at start, with every problem reported in one
 * `CONFIG_INVALID` error, and frozen.
 */
export interface OrchestratorConfig {
  /** Where the embedded store, workspaces and caches live. @default `./.orchestrator` */
  readonly dataDir: string;
  /** Which event store to use. @default `postgres` when `databaseUrl` is set, else `sqlite` */
  readonly store: 'sqlite' | 'postgres';
  /** PostgreSQL connection string (`DATABASE_URL`). */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema holding the store's tables, created when missing (`ORCHESTRATOR_PG_SCHEMA`). @default `public` */
  readonly postgresSchema: string;
  /** Redis connection string for distributed mode (`REDIS_URL`). */
  readonly redisUrl: string | undefined;
  /** Anthropic API key (`ANTHROPIC_API_KEY`); when absent, the scripted model server is used. Never logged. */
  readonly anthropicApiKey: string | undefined;
  /** Anthropic API base URL (`ANTHROPIC_BASE_URL`), e.g. a gateway. @default Anthropic's own */
  readonly anthropicBaseUrl: string | undefined;
  /** Log level of the structured logs on stderr (`LOG_LEVEL`). @default `info` */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Agent processes running at once in this orchestrator process (`ORCHESTRATOR_MAX_AGENTS`). @default 4 */
  readonly maxConcurrentAgents: number;
  /**
   * Nodes of one workflow run that are not agents (function, human, approval, plugin kinds)
   * running at once (`ORCHESTRATOR_MAX_NODES`). Agent nodes are held to `maxConcurrentAgents`
   * instead; a workflow's own `concurrency`, when it sets one, caps both together. @default 64
   */
  readonly maxConcurrentNodes: number;
  /** SQLite durability: `full` fsyncs every group commit, `normal` survives a killed process but not power loss. @default `full` */
  readonly sqliteSynchronous: 'full' | 'normal';
  /** Every this many ms the memory of live agent processes is sampled (`ORCHESTRATOR_RESOURCE_SAMPLE_MS`); 0 = only at each result. @default 5000 */
  readonly resourceSampleMs: number;
  /** OpenTelemetry traces (`ORCHESTRATOR_OTEL`): `off`, `console` (JSON lines on stderr) or `file`. @default `off` */
  readonly otel: 'off' | 'console' | 'file';
  /** The JSON-lines file of `otel: file` (`ORCHESTRATOR_OTEL_FILE`). @default `<dataDir>/traces.jsonl` */
  readonly otelFile: string;
  /**
   * A file the offline scripted model appends every request it answers to, one JSON line each
   * (`ORCHESTRATOR_MODEL_LOG`; docs/scenarios.md). @default none: not written
   */
  readonly modelLog: string | undefined;
  /** Alert when a model response takes longer, in ms (`ORCHESTRATOR_ALERT_MAX_RESPONSE_TIME`, e.g. `2m`). @default none */
  readonly alertMaxResponseMs: number | undefined;
  /** Alert when more than this share of agent attempts fail (`ORCHESTRATOR_ALERT_MAX_ERROR_RATE`, 0 to 1). @default none */
  readonly alertMaxErrorRate: number | undefined;
  /** The window of the error rate, in ms (`ORCHESTRATOR_ALERT_ERROR_WINDOW`, e.g. `10m`). @default 600000 */
  readonly alertErrorWindowMs: number;
  /** Alert when a session has spent more, in US dollars (`ORCHESTRATOR_ALERT_MAX_SESSION_COST`). @default none */
  readonly alertMaxSessionCostUsd: number | undefined;
  /** Alert when a workflow run has spent more, in US dollars (`ORCHESTRATOR_ALERT_MAX_WORKFLOW_COST`). @default none */
  readonly alertMaxWorkflowCostUsd: number | undefined;
  /**
   * Custom alert rules for every workflow (`ORCHESTRATOR_ALERT_RULES`, a JSON array of rules as
   * in a workflow's `alerts.rules`); their expressions are checked when the orchestrator opens.
   * @default []
   */
  readonly alertRules: readonly Record<string, unknown>[];
  /** Hard cost limit of a session, in US dollars (`ORCHESTRATOR_BUDGET_SESSION_USD`). @default none */
  readonly budgetSessionUsd: number | undefined;
  /** Hard cost limit of a workflow run, in US dollars (`ORCHESTRATOR_BUDGET_WORKFLOW_USD`). @default none */
  readonly budgetWorkflowUsd: number | undefined;
  /** Hard cost limits per agent type over a session (`ORCHESTRATOR_BUDGET_AGENT_TYPES`, `coder=1.5,reviewer=0.5`). @default {} */
  readonly budgetAgentTypes: Readonly<Record<string, number>>;
  /** What a reached budget does (`ORCHESTRATOR_BUDGET_ACTION`): `fail` the work, or `pause` the workflow. @default `fail` */
  readonly budgetAction: 'fail' | 'pause';
  /**
   * Pre-started agent processes kept per agent type, and per agent type in a session workspace
   * (`ORCHESTRATOR_WARM_POOL`); 0 turns the pool off. Behind the model gateway each spare holds a token of its own, bound to the agent that takes it. @default 0
   */
  readonly warmPool: number;
  /**
   * The graph-aware warm start of workflow runs (`ORCHESTRATOR_WARM_START`): `graph` starts
   * spare agent processes only for the agent nodes about to become ready (dependents whose
   * predecessors are all running or done, and nodes queued for a process slot), while their
   * predecessors run; `off` starts none. @default `graph`
   */
  readonly warmStart: 'graph' | 'off';
  /**
   * Spares of the graph-aware warm start parked or starting at once (`ORCHESTRATOR_WARM_MAX_SPARES`),
   * each ~230 MB beyond the agent cap. @default the agent cap (`maxConcurrentAgents`)
   */
  readonly warmMaxSpares: number;
  /**
   * Memory (MB) that must stay available after each spare of the warm start
   * (`ORCHESTRATOR_WARM_MIN_FREE_MB`): no spare starts below it. @default 1024
   */
  readonly warmMinFreeMb: number;
  /**
   * The oldest a process pre-started in a session workspace in a git work tree may be when an
   * agent takes it (`ORCHESTRATOR_WARM_MAX_AGE_MS`): it shows the agent the workspace's git status
   * as it was then. Outside git nothing of the folder goes stale, and such spares do not age.
   * @default 30000
   */
  readonly warmMaxAgeMs: number;
  /**
   * How long a process's lease on a session lasts without renewal (`ORCHESTRATOR_LEASE_TTL`,
   * `10s` or ms). It is renewed every third of that; another process takes a session over once
   * it lapsed (at once when the owner's pid is dead on the same host). @default 10000
   */
  readonly leaseTtlMs: number;
  /**
   * How often an owner looks for control requests recorded by other processes
   * (`ORCHESTRATOR_CONTROL_POLL_MS`): a cancel or pause from elsewhere lands within this. @default 500
   */
  readonly controlPollMs: number;
  /**
   * Secrets the operator names (`ORCHESTRATOR_SECRETS`): variables of the orchestrator's
   * environment whose values are secret, and `@FILE`s of secrets (`NAME=value` or one value a
   * line), separated by commas: `GH_PAT,NPM_PAT,@/etc/orchestrator/secrets`. Their values are
   * redacted, like the model key and the values of variables named like keys, tokens and
   * passwords, from everything written. @default none
   */
  readonly secrets: { readonly names: readonly string[]; readonly files: readonly string[] };
  /**
   * Largest agent-produced event field (a tool's input or result, a message) kept whole, in
   * bytes of JSON (`ORCHESTRATOR_MAX_EVENT_FIELD_BYTES`); a larger one keeps a preview, its size
   * and its SHA-256 (the whole value stays in the agent's transcript). @default 65536
   */
  readonly maxEventFieldBytes: number;
  /** Largest event payload written at all, in bytes of JSON (`ORCHESTRATOR_MAX_EVENT_BYTES`); a larger one is refused (`LIMIT_EXCEEDED`). @default 16777216 */
  readonly maxEventBytes: number;
  /**
   * The model gateway (`ORCHESTRATOR_GATEWAY`, `on` or `off`): agents talk to a proxy inside
   * the orchestrator with a token of their own instead of the model key, which never enters
   * their environment; usage is read from the wire and retries are decided there. `off` gives
   * every agent the key and the base URL directly. @default `on`
   */
  readonly gateway: boolean;
  /**
   * Retries of a failed model request by the gateway (`ORCHESTRATOR_GATEWAY_MAX_RETRIES`);
   * agents themselves retry none (`CLAUDE_CODE_MAX_RETRIES=0`). @default a user's
   * `CLAUDE_CODE_MAX_RETRIES` when set, else 4
   */
  readonly gatewayMaxRetries: number;
  /** Wait for an upstream's response before a try fails (`ORCHESTRATOR_GATEWAY_FIRST_BYTE_TIMEOUT`, `120s` or ms). @default 120000 */
  readonly gatewayFirstByteTimeoutMs: number;
  /** Longest silence inside a response body before it is cut (`ORCHESTRATOR_GATEWAY_IDLE_TIMEOUT`, `60s` or ms). @default 60000 */
  readonly gatewayIdleTimeoutMs: number;
  /**
   * Record every model exchange of the sessions run here (`ORCHESTRATOR_GATEWAY_RECORD`, `on` or
   * `off`), secrets removed, for `orchestrator sessions cassette ID`. @default false
   */
  readonly gatewayRecord: boolean;
  /**
   * Requests per minute the gateway lets through for the model key (`ORCHESTRATOR_GATEWAY_RPM`);
   * the tighter of this and the limit Anthropic reports in its response headers wins.
   * @default unset (the limit Anthropic reports, unlimited until it did)
   */
  readonly gatewayRpm: number | undefined;
  /** Input tokens per minute for the model key (`ORCHESTRATOR_GATEWAY_INPUT_TPM`), as for {@link OrchestratorConfig.gatewayRpm}. @default unset */
  readonly gatewayInputTpm: number | undefined;
  /** Output tokens per minute for the model key (`ORCHESTRATOR_GATEWAY_OUTPUT_TPM`), as for {@link OrchestratorConfig.gatewayRpm}. @default unset */
  readonly gatewayOutputTpm: number | undefined;
}

/** Loose input of {@link loadConfig}: every field optional, strings accepted for numbers. */
export type ConfigInput = { [K in keyof OrchestratorConfig]?: unknown };

const urlWithScheme = (schemes: string[]) =>
  z
    .string()
    .min(1)
    .refine((value) => schemes.some((s) => value.startsWith(`${s}://`)), {
      message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    });

/** A duration: whole milliseconds, or a number with a unit `ms`, `s`, `m`, `h` (`90s`, `2m`). */
const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? 'ms'] ?? 1;
  const ms = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: "expected a duration such as '90s', '2m' or a number of milliseconds" });
    return z.NEVER;
  }
  return ms;
});

const dollars = z.coerce.number().nonnegative();

/** `name=usd,name=usd` (or an object, from code) to a record of limits. */
const limitsByName = z.union([z.record(z.string(), z.number()), z.string()]).transform((value, ctx) => {
  if (typeof value !== 'string') return value;
  const out: Record<string, number> = {};
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, amount] = part.split('=');
    const usd = Number(amount);
    if (!name || amount === undefined || !Number.isFinite(usd) || usd < 0) {
      ctx.addIssue({ code: 'custom', message: `expected NAME=DOLLARS pairs separated by commas, got "${part}"` });
      return z.NEVER;
    }
    out[name.trim()] = usd;
  }
  return out;
});

/** A JSON array of objects (or the array itself, from code). */
const jsonRules = z.union([z.array(z.record(z.string(), z.unknown())), z.string()]).transform((value, ctx) => {
  if (typeof value !== 'string') return value;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (Array.isArray(parsed) && parsed.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      return parsed as Record<string, unknown>[];
    }
  } catch {
    // Reported below.
  }
  ctx.addIssue({ code: 'custom', message: 'expected a JSON array of rule objects' });
  return z.NEVER;
});

/** `NAME,@FILE,...` (or a listing, from code) to variable names and absolute file paths. */
const secretListing = z
  .union([
    z.strictObject({ names: z.array(z.string()).default([]), files: z.array(z.string()).default([]) }),
    z.string(),
  ])
  .transform((value, ctx) => {
    const entries =
      typeof value === 'string' ? value.split(',') : [...value.names, ...value.files.map((file) => `@${file}`)];
    const names: string[] = [];
    const files: string[] = [];
    for (const entry of entries.map((part) => part.trim()).filter(Boolean)) {
      if (entry.startsWith('@') && entry.length > 1) files.push(path.resolve(entry.slice(1)));
      else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry)) names.push(entry);
      else {
        ctx.addIssue({
          code: 'custom',
          message: `expected variable names or @FILE separated by commas, got "${entry}"`,
        });
        return z.NEVER;
      }
    }
    return { names, files };
  });

const schema = z
  .strictObject({
    dataDir: z.string().min(1).default('.orchestrator'),
    store: z.enum(['sqlite', 'postgres']).optional(),
    databaseUrl: urlWithScheme(['postgres', 'postgresql']).optional(),
    postgresSchema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier (letters, digits, _)')
      .default('public'),
    redisUrl: urlWithScheme(['redis', 'rediss']).optional(),
    anthropicApiKey: z.string().min(1).optional(),
    anthropicBaseUrl: urlWithScheme(['http', 'https']).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    maxConcurrentAgents: z.coerce.number().int().min(1).max(256).default(4),
    maxConcurrentNodes: z.coerce.number().int().min(1).max(10_000).default(64),
    sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
    resourceSampleMs: z.coerce.number().int().min(0).max(3_600_000).default(5000),
    otel: z.enum(['off', 'console', 'file']).default('off'),
    otelFile: z.string().min(1).optional(),
    modelLog: z.string().min(1).optional(),
    alertMaxResponseMs: duration.optional(),
    alertMaxErrorRate: z.coerce.number().min(0).max(1).optional(),
    alertErrorWindowMs: duration.default(600_000),
    alertMaxSessionCostUsd: dollars.optional(),
    alertMaxWorkflowCostUsd: dollars.optional(),
    alertRules: jsonRules.default([]),
    budgetSessionUsd: dollars.optional(),
    budgetWorkflowUsd: dollars.optional(),
    budgetAgentTypes: limitsByName.default({}),
    budgetAction: z.enum(['fail', 'pause']).default('fail'),
    warmPool: z.coerce.number().int().min(0).max(8).default(0),
    warmStart: z.enum(['graph', 'off']).default('graph'),
    warmMaxSpares: z.coerce.number().int().min(0).max(256).optional(),
    warmMinFreeMb: z.coerce.number().int().min(0).max(1_048_576).default(1024),
    warmMaxAgeMs: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
    leaseTtlMs: duration.pipe(z.number().int().min(300).max(600_000)).default(10_000),
    controlPollMs: z.coerce.number().int().min(20).max(10_000).default(500),
    secrets: secretListing.default({ names: [], files: [] }),
    maxEventFieldBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(64 * 1024),
    maxEventBytes: z.coerce
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    gateway: z
      .union([z.boolean(), z.enum(['on', 'off', 'true', 'false', '1', '0'])])
      .transform((value) => value === true || value === 'on' || value === 'true' || value === '1')
      .default(true),
    gatewayMaxRetries: z.coerce.number().int().min(0).max(20).optional(),
    gatewayFirstByteTimeoutMs: duration.pipe(z.number().int().min(10).max(3_600_000)).default(120_000),
    gatewayIdleTimeoutMs: duration.pipe(z.number().int().min(10).max(3_600_000)).default(60_000),
    gatewayRecord: z
      .union([z.boolean(), z.enum(['on', 'off', 'true', 'false', '1', '0'])])
      .transform((value) => value === true || value === 'on' || value === 'true' || value === '1')
      .default(false),
    gatewayRpm: z.coerce.number().int().min(1).max(1_000_000).optional(),
    gatewayInputTpm: z.coerce.number().int().min(1).max(1_000_000_000).optional(),
    gatewayOutputTpm: z.coerce.number().int().min(1).max(1_000_000_000).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.store === 'postgres' && !value.databaseUrl) {
      ctx.addIssue({ code: 'custom', path: ['store'], message: 'store "postgres" needs DATABASE_URL to be set' });
    }
  });

/** Maps environment variables to config fields. */
const ENV_NAMES: Record<keyof OrchestratorConfig, string> = {
  dataDir: 'ORCHESTRATOR_DATA_DIR',
  store: 'ORCHESTRATOR_STORE',
  databaseUrl: 'DATABASE_URL',
  postgresSchema: 'ORCHESTRATOR_PG_SCHEMA',
  redisUrl: 'REDIS_URL',
  anthropicApiKey: 'ANTHROPIC_API_KEY',
  anthropicBaseUrl: 'ANTHROPIC_BASE_URL',
  logLevel: 'LOG_LEVEL',
  maxConcurrentAgents: 'ORCHESTRATOR_MAX_AGENTS',
  maxConcurrentNodes: 'ORCHESTRATOR_MAX_NODES',
  sqliteSynchronous: 'ORCHESTRATOR_SQLITE_SYNCHRONOUS',
  resourceSampleMs: 'ORCHESTRATOR_RESOURCE_SAMPLE_MS',
  otel: 'ORCHESTRATOR_OTEL',
  otelFile: 'ORCHESTRATOR_OTEL_FILE',
  modelLog: 'ORCHESTRATOR_MODEL_LOG',
  alertMaxResponseMs: 'ORCHESTRATOR_ALERT_MAX_RESPONSE_TIME',
  alertMaxErrorRate: 'ORCHESTRATOR_ALERT_MAX_ERROR_RATE',
  alertErrorWindowMs: 'ORCHESTRATOR_ALERT_ERROR_WINDOW',
  alertMaxSessionCostUsd: 'ORCHESTRATOR_ALERT_MAX_SESSION_COST',
  alertMaxWorkflowCostUsd: 'ORCHESTRATOR_ALERT_MAX_WORKFLOW_COST',
  alertRules: 'ORCHESTRATOR_ALERT_RULES',
  budgetSessionUsd: 'ORCHESTRATOR_BUDGET_SESSION_USD',
  budgetWorkflowUsd: 'ORCHESTRATOR_BUDGET_WORKFLOW_USD',
  budgetAgentTypes: 'ORCHESTRATOR_BUDGET_AGENT_TYPES',
  budgetAction: 'ORCHESTRATOR_BUDGET_ACTION',
  warmPool: 'ORCHESTRATOR_WARM_POOL',
  warmStart: 'ORCHESTRATOR_WARM_START',
  warmMaxSpares: 'ORCHESTRATOR_WARM_MAX_SPARES',
  warmMinFreeMb: 'ORCHESTRATOR_WARM_MIN_FREE_MB',
  warmMaxAgeMs: 'ORCHESTRATOR_WARM_MAX_AGE_MS',
  leaseTtlMs: 'ORCHESTRATOR_LEASE_TTL',
  controlPollMs: 'ORCHESTRATOR_CONTROL_POLL_MS',
  secrets: 'ORCHESTRATOR_SECRETS',
  maxEventFieldBytes: 'ORCHESTRATOR_MAX_EVENT_FIELD_BYTES',
  maxEventBytes: 'ORCHESTRATOR_MAX_EVENT_BYTES',
  gateway: 'ORCHESTRATOR_GATEWAY',
  gatewayMaxRetries: 'ORCHESTRATOR_GATEWAY_MAX_RETRIES',
  gatewayFirstByteTimeoutMs: 'ORCHESTRATOR_GATEWAY_FIRST_BYTE_TIMEOUT',
  gatewayIdleTimeoutMs: 'ORCHESTRATOR_GATEWAY_IDLE_TIMEOUT',
  gatewayRecord: 'ORCHESTRATOR_GATEWAY_RECORD',
  gatewayRpm: 'ORCHESTRATOR_GATEWAY_RPM',
  gatewayInputTpm: 'ORCHESTRATOR_GATEWAY_INPUT_TPM',
  gatewayOutputTpm: 'ORCHESTRATOR_GATEWAY_OUTPUT_TPM',
};

const SECRET_FIELDS = new Set<string>(['anthropicApiKey']);

/**
 * Builds the configuration from environment variables, overridden by explicit values
 * (CLI flags). Empty environment values count as unset.
 * @throws OrchestratorError `CONFIG_INVALID` listing every invalid field, its variable, what
 * was expected and what arrived (secrets are never echoed).
 */
export function loadConfig(
  overrides: ConfigInput = {},
  env: Record<string, string | undefined> = process.env,
): OrchestratorConfig {
  const raw: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  for (const [field, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[field] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? issue.path.join('.'));
      const envName = ENV_NAMES[field as keyof OrchestratorConfig];
      const received = SECRET_FIELDS.has(field) ? '(secret)' : describe(raw[field]);
      const unknownKeys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
      return { field, envName, message: `${issue.message}${unknownKeys}`, received };
    });
    const lines = problems.map(
      (p) => `  ${p.field}${p.envName ? ` (${p.envName})` : ''}: ${p.message}; received ${p.received}`,
    );
    throw new OrchestratorError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`, {
      details: { problems },
    });
  }
  const value = parsed.data;
  const dataDir = path.resolve(value.dataDir);
  return Object.freeze({
    dataDir,
    store: value.store ?? (value.databaseUrl ? 'postgres' : 'sqlite'),
    databaseUrl: value.databaseUrl,
    postgresSchema: value.postgresSchema,
    redisUrl: value.redisUrl,
    anthropicApiKey: value.anthropicApiKey,
    anthropicBaseUrl: value.anthropicBaseUrl,
    logLevel: value.logLevel,
    maxConcurrentAgents: value.maxConcurrentAgents,
    maxConcurrentNodes: value.maxConcurrentNodes,
    sqliteSynchronous: value.sqliteSynchronous,
    resourceSampleMs: value.resourceSampleMs,
    otel: value.otel,
    otelFile: path.resolve(value.otelFile ?? path.join(dataDir, 'traces.jsonl')),
    modelLog: value.modelLog === undefined ? undefined : path.resolve(value.modelLog),
    alertMaxResponseMs: value.alertMaxResponseMs,
    alertMaxErrorRate: value.alertMaxErrorRate,
    alertErrorWindowMs: value.alertErrorWindowMs,
    alertMaxSessionCostUsd: value.alertMaxSessionCostUsd,
    alertMaxWorkflowCostUsd: value.alertMaxWorkflowCostUsd,
    alertRules: Object.freeze([...value.alertRules]),
    budgetSessionUsd: value.budgetSessionUsd,
    budgetWorkflowUsd: value.budgetWorkflowUsd,
    budgetAgentTypes: Object.freeze({ ...value.budgetAgentTypes }),
    budgetAction: value.budgetAction,
    warmPool: value.warmPool,
    warmStart: value.warmStart,
    warmMaxSpares: value.warmMaxSpares ?? value.maxConcurrentAgents,
    warmMinFreeMb: value.warmMinFreeMb,
    warmMaxAgeMs: value.warmMaxAgeMs,
    leaseTtlMs: value.leaseTtlMs,
    controlPollMs: value.controlPollMs,
    secrets: Object.freeze({
      names: Object.freeze([...value.secrets.names]),
      files: Object.freeze([...value.secrets.files]),
    }),
    maxEventFieldBytes: value.maxEventFieldBytes,
    maxEventBytes: value.maxEventBytes,
    gateway: value.gateway,
    gatewayMaxRetries: value.gatewayMaxRetries ?? userRetries(env.CLAUDE_CODE_MAX_RETRIES) ?? 4,
    gatewayFirstByteTimeoutMs: value.gatewayFirstByteTimeoutMs,
    gatewayIdleTimeoutMs: value.gatewayIdleTimeoutMs,
    gatewayRecord: value.gatewayRecord,
    gatewayRpm: value.gatewayRpm,
    gatewayInputTpm: value.gatewayInputTpm,
    gatewayOutputTpm: value.gatewayOutputTpm,
  });
}

/**
 * A user's `CLAUDE_CODE_MAX_RETRIES`, which becomes the gateway's bound (agents behind the
 * gateway retry nothing themselves); undefined when unset or not a count.
 */
function userRetries(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,2}$/.test(value.trim())) return undefined;
  return Math.min(20, Number(value));
}

/** A copy of the config safe to print or log: secrets replaced by a marker. */
export function redactConfig(config: OrchestratorConfig): Record<string, unknown> {
  return {
    ...config,
    anthropicApiKey: config.anthropicApiKey ? '[redacted]' : undefined,
    databaseUrl: config.databaseUrl ? redactUrl(config.databaseUrl) : undefined,
    redisUrl: config.redisUrl ? redactUrl(config.redisUrl) : undefined,
  };
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return `${JSON.stringify(value)} (${typeof value})`;
}

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
  /** SQLite durability: `full` fsyncs every group commit, `normal` survives a killed process but not power loss. @default `full` */
  readonly sqliteSynchronous: 'full' | 'normal';
  /**
   * Pre-started agent processes kept per agent type, and per agent type in a session workspace
   * (`ORCHESTRATOR_WARM_POOL`); 0 turns the pool off. @default 0
   */
  readonly warmPool: number;
  /**
   * The oldest a process pre-started in a session workspace may be when an agent takes it
   * (`ORCHESTRATOR_WARM_MAX_AGE_MS`): it shows the agent the workspace as it was then. @default 30000
   */
  readonly warmMaxAgeMs: number;
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
    sqliteSynchronous: z.enum(['full', 'normal']).default('full'),
    warmPool: z.coerce.number().int().min(0).max(8).default(0),
    warmMaxAgeMs: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
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
  sqliteSynchronous: 'ORCHESTRATOR_SQLITE_SYNCHRONOUS',
  warmPool: 'ORCHESTRATOR_WARM_POOL',
  warmMaxAgeMs: 'ORCHESTRATOR_WARM_MAX_AGE_MS',
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
  return Object.freeze({
    dataDir: path.resolve(value.dataDir),
    store: value.store ?? (value.databaseUrl ? 'postgres' : 'sqlite'),
    databaseUrl: value.databaseUrl,
    postgresSchema: value.postgresSchema,
    redisUrl: value.redisUrl,
    anthropicApiKey: value.anthropicApiKey,
    anthropicBaseUrl: value.anthropicBaseUrl,
    logLevel: value.logLevel,
    maxConcurrentAgents: value.maxConcurrentAgents,
    sqliteSynchronous: value.sqliteSynchronous,
    warmPool: value.warmPool,
    warmMaxAgeMs: value.warmMaxAgeMs,
  });
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

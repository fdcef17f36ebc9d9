import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';

/** Options of the embedded SQLite store. */
export interface SqliteStoreConfig {
  readonly kind: 'sqlite';
  /** The database file (parent folders are created), or `:memory:` for a private in-memory log. */
  readonly path: string;
  /**
   * `full` fsyncs the write-ahead log on every commit: a resolved append survives power loss.
   * `normal` survives a crash of the process but may lose the latest commits on power loss.
   * @default 'full'
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a writer waits for another process's write transaction to finish. @default 10000 */
  readonly busyTimeoutMs?: number;
}

/** Options of the shared PostgreSQL store. */
export interface PostgresStoreConfig {
  readonly kind: 'postgres';
  /** Connection URL, e.g. `postgres://user:pass@host:5432/db`; without a user name, the OS user (as libpq does). */
  readonly url: string;
  /** The schema holding the store's tables; created when missing. @default 'public' */
  readonly schema?: string;
  /** Connections of the shared pool (reads, versions, transcripts); the event writer has one more of its own. @default 4 */
  readonly maxReadConnections?: number;
  /** How long to wait for a connection before failing with `STORE_UNAVAILABLE`. @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** Which event store to open, and how. */
export type EventStoreConfig = SqliteStoreConfig | PostgresStoreConfig;

/** {@link SqliteStoreConfig} after validation, with defaults applied. */
export type CompiledSqliteConfig = Readonly<Required<SqliteStoreConfig>>;
/** {@link PostgresStoreConfig} after validation, with defaults applied. */
export type CompiledPostgresConfig = Readonly<Required<PostgresStoreConfig>>;

const sqliteSchema = z.strictObject({
  kind: z.literal('sqlite'),
  path: z.string().min(1),
  synchronous: z.enum(['full', 'normal']).default('full'),
  busyTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
});

const postgresSchema = z.strictObject({
  kind: z.literal('postgres'),
  url: z.string().min(1),
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier (letters, digits, _; at most 63)')
    .default('public'),
  maxReadConnections: z.number().int().min(1).max(100).default(4),
  connectTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
});

const configSchema = z.discriminatedUnion('kind', [sqliteSchema, postgresSchema]);

/**
 * Validates a store configuration and applies its defaults; every problem is reported at once.
 * @throws OrchestratorError `CONFIG_INVALID` naming each bad field, what it expected and what arrived.
 */
export function compileStoreConfig(config: EventStoreConfig): CompiledSqliteConfig | CompiledPostgresConfig {
  const parsed = configSchema.safeParse(config);
  if (parsed.success) return Object.freeze(parsed.data);
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? `store.${issue.path.join('.')}` : 'store';
    const received = issue.path.reduce<unknown>(
      (value, key) =>
        value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined,
      config,
    );
    return { field, message: issue.message, received: describe(received) };
  });
  const text = problems.map((p) => `${p.field}: ${p.message} (got ${p.received})`).join('; ');
  throw new OrchestratorError('CONFIG_INVALID', `invalid event store configuration: ${text}`, {
    details: { problems },
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.slice(0, 60))} (string)`;
  if (value === null || typeof value !== 'object') return `${String(value)} (${typeof value})`;
  return Array.isArray(value) ? 'an array' : 'an object';
}

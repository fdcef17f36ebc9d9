import { isIP } from 'node:net';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';

/** Settings of the HTTP API server: loose input, every field documented with its default. */
export interface ServerOptions {
  /** Address to listen on. Anything but loopback needs API keys (see docs/api.md). @default `127.0.0.1` */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @default 7700 */
  readonly port?: number;
  /** Largest request body of a route, in bytes (imports have their own limit). @default 1048576 (1 MiB) */
  readonly bodyLimitBytes?: number;
  /** Largest session export accepted by `POST /v1/sessions/import`, in bytes. @default 536870912 (512 MiB) */
  readonly importLimitBytes?: number;
  /** An idle live stream sends a heartbeat this often, in ms. @default 15000 */
  readonly heartbeatMs?: number;
  /** Requests per second each API key may send on average. @default 100 */
  readonly ratePerSecond?: number;
  /** Requests an API key may send at once above its average. @default 200 */
  readonly rateBurst?: number;
  /** Browser origins allowed to call the API (CORS); none means CORS is off. @default [] */
  readonly corsOrigins?: readonly string[];
  /**
   * Events a live stream may send ahead of its client before it stops and reads the rest from
   * the log once the client catches up. @default 1000
   */
  readonly streamBufferEvents?: number;
  /** How often live streams look for events other processes appended, in ms. @default 250 */
  readonly streamPollMs?: number;
  /** How often webhooks' events are enqueued and due deliveries sent, in ms. @default 1000 */
  readonly webhookPollMs?: number;
  /** Attempts of a webhook delivery before it is recorded failed. @default 8 */
  readonly webhookMaxAttempts?: number;
  /** Wait before a delivery's second attempt, doubled for each next one, in ms. @default 1000 */
  readonly webhookBackoffMs?: number;
  /** How long a delivery attempt may take, in ms. @default 10000 */
  readonly webhookTimeoutMs?: number;
}

/** {@link ServerOptions} with defaults applied, checked and frozen. */
export interface CompiledServerOptions {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  readonly importLimitBytes: number;
  readonly heartbeatMs: number;
  readonly ratePerSecond: number;
  readonly rateBurst: number;
  readonly corsOrigins: readonly string[];
  readonly streamBufferEvents: number;
  readonly streamPollMs: number;
  readonly webhookPollMs: number;
  readonly webhookMaxAttempts: number;
  readonly webhookBackoffMs: number;
  readonly webhookTimeoutMs: number;
  /** True when `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
  readonly loopback: boolean;
}

/** The defaults of {@link ServerOptions}, in one place. */
export const SERVER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 7700,
  bodyLimitBytes: 1024 * 1024,
  importLimitBytes: 512 * 1024 * 1024,
  heartbeatMs: 15_000,
  ratePerSecond: 100,
  rateBurst: 200,
  corsOrigins: [] as readonly string[],
  streamBufferEvents: 1000,
  streamPollMs: 250,
  webhookPollMs: 1000,
  webhookMaxAttempts: 8,
  webhookBackoffMs: 1000,
  webhookTimeoutMs: 10_000,
});

const origin = z
  .string()
  .regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://dashboard.example.com (scheme and host, no path)');

const schema = z.strictObject({
  host: z.string().min(1).max(255).default(SERVER_DEFAULTS.host),
  port: z.coerce.number().int().min(0).max(65_535).default(SERVER_DEFAULTS.port),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(SERVER_DEFAULTS.bodyLimitBytes),
  importLimitBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024 * 1024)
    .default(SERVER_DEFAULTS.importLimitBytes),
  heartbeatMs: z.coerce.number().int().min(100).max(600_000).default(SERVER_DEFAULTS.heartbeatMs),
  ratePerSecond: z.coerce.number().min(0.01).max(1_000_000).default(SERVER_DEFAULTS.ratePerSecond),
  rateBurst: z.coerce.number().int().min(1).max(10_000_000).default(SERVER_DEFAULTS.rateBurst),
  corsOrigins: z.array(origin).default([]),
  streamBufferEvents: z.coerce.number().int().min(10).max(1_000_000).default(SERVER_DEFAULTS.streamBufferEvents),
  streamPollMs: z.coerce.number().int().min(20).max(60_000).default(SERVER_DEFAULTS.streamPollMs),
  webhookPollMs: z.coerce.number().int().min(20).max(600_000).default(SERVER_DEFAULTS.webhookPollMs),
  webhookMaxAttempts: z.coerce.number().int().min(1).max(100).default(SERVER_DEFAULTS.webhookMaxAttempts),
  webhookBackoffMs: z.coerce.number().int().min(10).max(3_600_000).default(SERVER_DEFAULTS.webhookBackoffMs),
  webhookTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(SERVER_DEFAULTS.webhookTimeoutMs),
});

/**
 * Applies defaults and checks every setting at once.
 * @throws OrchestratorError `CONFIG_INVALID` listing every bad field, what was expected and what arrived
 */
export function compileServerOptions(options: ServerOptions = {}): CompiledServerOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.') || '(options)';
      const received = (options as Record<string, unknown>)[String(issue.path[0])];
      return { field, message: issue.message, received: received === undefined ? 'nothing' : JSON.stringify(received) };
    });
    throw new OrchestratorError(
      'CONFIG_INVALID',
      `invalid server settings:\n${problems.map((p) => `  ${p.field}: ${p.message}; received ${p.received}`).join('\n')}`,
      { details: { problems } },
    );
  }
  const value = parsed.data;
  return Object.freeze({
    ...value,
    corsOrigins: Object.freeze([...value.corsOrigins]),
    loopback: isLoopback(value.host),
  });
}

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

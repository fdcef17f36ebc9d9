import { pino } from 'pino';

/** The project's logger type (pino). */
export type Logger = pino.Logger;

/**
 * Paths pino censors in every log line. Keys are matched wherever a caller may put them:
 * config objects, child process environments, HTTP headers.
 */
const REDACT_PATHS = [
  'anthropicApiKey',
  '*.anthropicApiKey',
  'apiKey',
  '*.apiKey',
  'env.ANTHROPIC_API_KEY',
  '*.env.ANTHROPIC_API_KEY',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
];

/**
 * A JSON logger writing to stderr, so that stdout stays free for command output such as
 * `run --json`. Secrets listed in REDACT_PATHS are replaced by `[redacted]`.
 */
export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      name: options.name ?? 'orchestrator',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    (options.destination ?? pino.destination({ fd: 2, sync: false })) as pino.DestinationStream,
  );
}

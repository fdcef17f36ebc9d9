import { createRequire } from 'node:module';
import type { pino } from 'pino';

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

/** What the logger needs of a redactor: the text of a log line without known secret values. */
export interface TextRedactor {
  redactText(text: string): string;
}

/**
 * A JSON logger writing to stderr, so that stdout stays free for command output such as
 * `run --json`. Fields listed in REDACT_PATHS are replaced by `[redacted]`; with a
 * `redactor`, every line is also redacted by value as it is written (messages, error stacks,
 * any field), so a secret logged under an unexpected name or inside a message is caught too.
 */
export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream; redactor?: TextRedactor } = {},
): Logger {
  const redactor = options.redactor;
  // pino is loaded by the first logger (an orchestrator opening), not by importing the library
  // (issue 15). It is CommonJS, so `require` gives the instance an `import` would.
  const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
  return pino(
    {
      name: options.name ?? 'orchestrator',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      ...(redactor && { hooks: { streamWrite: (line: string) => redactor.redactText(line) } }),
    },
    (options.destination ?? pino.destination({ fd: 2, sync: false })) as pino.DestinationStream,
  );
}

/** Structured logging (pino) to stderr, with secrets redacted. */

export type { Logger, TextRedactor } from './logger.ts';
export { createLogger } from './logger.ts';

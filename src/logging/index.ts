/** Structured logging (pino) to stderr, with secrets redacted. */
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';

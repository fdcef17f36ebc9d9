/** Typed errors with stable codes: the registry and the one error base class. */

export type { ErrorCode } from './codes.ts';
export { ERROR_CODES } from './codes.ts';
export type { OrchestratorErrorOptions } from './orchestrator-error.ts';
export { isOrchestratorError, OrchestratorError, toOrchestratorError } from './orchestrator-error.ts';

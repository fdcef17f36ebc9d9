/** Configuration: one validated, frozen object built from the environment and CLI flags. */

export type { ConfigInput, OrchestratorConfig } from './config.ts';
export { loadConfig, redactConfig, redactUrl } from './config.ts';

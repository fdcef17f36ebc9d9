/** Security: the agents' allow-listed environment, and redaction of known secret values. */

export type { AgentEnvOptions, AgentFolders, DeclaredAgentEnv } from './agent-env.ts';
export {
  agentFolders,
  buildAgentEnv,
  checkAgentEnvName,
  HOST_VARIABLES_PASSED,
  isReservedEnvName,
  prepareAgentFolders,
  withAgentTypeEnv,
} from './agent-env.ts';
export type { KnownSecret, RedactorOptions } from './redact.ts';
export { encodedForms, Redactor } from './redact.ts';
export type { SecretConfig, SecretListing, SecretSources } from './secrets.ts';
export {
  collectSecrets,
  ENV_NAME,
  MIN_LISTED_SECRET_LENGTH,
  MIN_NAMED_SECRET_LENGTH,
  SECRET_NAME_PATTERN,
  secretRedactor,
} from './secrets.ts';

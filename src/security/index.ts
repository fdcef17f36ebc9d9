/**
 * Security of agents: policies put on Claude Code's own machinery (which tools exist, its
 * allow/deny/ask rules, confinement of file tools, its Bash sandbox), the orchestrator's part in
 * Claude Code's permission flow (a hook that may deny or ask, never allow; answers to Claude
 * Code's prompt from the agent type, run-time grants or a human), the audit of every
 * decision, the agents' allow-listed environment and redaction of known secret values; safe
 * names for everything that becomes a path, and paths checked to stay under their root; API
 * keys of the HTTP API (generated, hashed, scoped). See docs/security.md.
 */

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
export type { GeneratedKey, KeyScope } from './api-keys.ts';
export {
  apiKeyId,
  apiKeyMatches,
  generateApiKey,
  hashApiKey,
  KEY_SCOPES,
  parseScopes,
  scopeAllows,
} from './api-keys.ts';
export type { DecisionBy, Verdict } from './audit.ts';
export { inputDigest, policyApplied, summarizeInput } from './audit.ts';
export type { DecisionContext, PromptFacts } from './decide.ts';
export { decideBeforeClaudeCode, decidePrompt, insideWorkspace } from './decide.ts';
export type { GateAgent, ToolApproval } from './gate.ts';
export { ToolGate } from './gate.ts';
export type { SessionRules, TypeRules } from './grants.ts';
export { applyRuleChange, emptySessionRules, NO_RULES, rulesOf } from './grants.ts';
export { checkSafeName, isSafeName, SAFE_NAME_PATTERN, SAFE_NAME_RULE, safeNameProblem } from './names.ts';
export { NPM_ROOT_CACHE, writeNpmShim } from './npm-shim.ts';
export { assertBelow, childPath, isWithin } from './paths.ts';
export type {
  ConfinementSpec,
  DataDirPaths,
  PermissionRulesSpec,
  SandboxSpec,
  SdkSecurityContext,
  SecurityPolicy,
  SecuritySpec,
} from './policy.ts';
export {
  compileSecurityPolicy,
  DEFAULT_ASK_TIMEOUT_MS,
  dataDirPathsOf,
  ORCHESTRATOR_PRIVATE_PATHS,
  orchestratorPrivatePaths,
  prepareProtectedFolders,
  privateReadsOf,
  protectedWritesOf,
  RESULT_CACHE_FOLDER,
  sdkSecurityOptions,
  sessionFoldersOf,
  transcriptsFolderOf,
  USER_CREDENTIAL_PATHS,
  userCredentialPaths,
} from './policy.ts';
export type { KnownSecret, RedactorOptions } from './redact.ts';
export { encodedForms, Redactor } from './redact.ts';
export type { MatchMode, ParsedRule } from './rules.ts';
export {
  BUILT_IN_TOOLS,
  globToRegExp,
  parsePermissionRule,
  parseRule,
  pathGlobToRegExp,
  primaryArgument,
  ruleCoversTool,
  ruleMatches,
  splitShellCommand,
} from './rules.ts';
export { SANDBOX_PLACEHOLDERS, sandboxUnavailable } from './sandbox.ts';
export type { SecretConfig, SecretListing, SecretSources } from './secrets.ts';
export {
  collectSecrets,
  ENV_NAME,
  MIN_LISTED_SECRET_LENGTH,
  MIN_NAMED_SECRET_LENGTH,
  SECRET_NAME_PATTERN,
  secretRedactor,
} from './secrets.ts';

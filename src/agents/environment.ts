/** Options of {@link buildAgentEnv}. */
export interface AgentEnvOptions {
  /** The model API key; for the scripted model server any placeholder works. */
  readonly apiKey: string;
  /** Where the model API is: the scripted server, a gateway, or unset for Anthropic's. */
  readonly baseUrl?: string | undefined;
  /** Claude Code's config and transcript folder; keeps the user's ~/.claude untouched. */
  readonly configDir: string;
  /** Claude Code's own retries of 429/529/5xx per request. @default Claude Code's (10) */
  readonly maxRetries?: number | undefined;
  /** The environment to start from. @default process.env */
  readonly base?: Readonly<Record<string, string | undefined>>;
  /** Extra variables, applied last. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The complete environment of a Claude Code process. The SDK's `env` replaces the child's
 * environment, so this starts from the parent's (agents run shell tools that need PATH,
 * HOME, locale) minus every Anthropic and Claude Code variable, which are then set from the
 * orchestrator's own configuration only.
 */
export function buildAgentEnv(options: AgentEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.base ?? process.env)) {
    if (value === undefined || key.startsWith('ANTHROPIC_') || key.startsWith('CLAUDE_')) continue;
    env[key] = value;
  }
  env.ANTHROPIC_API_KEY = options.apiKey;
  if (options.baseUrl) env.ANTHROPIC_BASE_URL = options.baseUrl;
  env.CLAUDE_CONFIG_DIR = options.configDir;
  env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
  env.DISABLE_TELEMETRY = '1';
  env.DISABLE_AUTOUPDATER = '1';
  if (options.maxRetries !== undefined) env.CLAUDE_CODE_MAX_RETRIES = String(options.maxRetries);
  Object.assign(env, options.extra);
  return env;
}

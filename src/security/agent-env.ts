import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeNpmShim } from './npm-shim.ts';
import { ENV_NAME, SECRET_NAME_PATTERN } from './secrets.ts';

/**
 * Variables of the orchestrator's environment every agent gets: the command search path, the
 * locale and the terminal. Nothing else of the host reaches an agent unless its type asks for
 * it by name (`passEnv`).
 */
export const HOST_VARIABLES_PASSED: readonly string[] = ['PATH', 'LANG', 'LANGUAGE', 'TERM', 'TZ'];

/** Locale variables (`LC_ALL`, `LC_CTYPE`...) are passed too. */
const LOCALE = /^LC_[A-Z_]+$/;

/** Folders of the agents' environment under a data directory. */
export interface AgentFolders {
  /** Claude Code's config and transcripts (`CLAUDE_CONFIG_DIR`). */
  readonly configDir: string;
  /** The agents' HOME: not the user's, whose dotfiles and credentials are no business of an agent. */
  readonly home: string;
  /** The agents' TMPDIR (Claude Code keeps its sockets and scratch files there). */
  readonly tmpDir: string;
  /** Commands put first on the agents' PATH: the `npm` shim (see npm-shim.ts). */
  readonly bin: string;
}

/**
 * The agent folders of a data directory: `<dataDir>/claude`, `<dataDir>/home`, `<dataDir>/tmp`,
 * `<dataDir>/bin`.
 */
export function agentFolders(dataDir: string): AgentFolders {
  return {
    configDir: path.join(dataDir, 'claude'),
    home: path.join(dataDir, 'home'),
    tmpDir: path.join(dataDir, 'tmp'),
    bin: path.join(dataDir, 'bin'),
  };
}

/**
 * Creates the agent folders (HOME and TMPDIR readable by the owner only), gives the agents'
 * HOME a git identity, so that an agent's own `git commit` works without the user's
 * `~/.gitconfig` (an existing one is left as it is), and writes the `npm` shim for the npm on
 * the host's PATH (`host`, @default process.env).
 */
export async function prepareAgentFolders(
  folders: AgentFolders,
  host: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  await writeNpmShim(folders.bin, host.PATH);
  await mkdir(folders.configDir, { recursive: true });
  await mkdir(folders.home, { recursive: true, mode: 0o700 });
  await mkdir(folders.tmpDir, { recursive: true, mode: 0o700 });
  await writeFile(
    path.join(folders.home, '.gitconfig'),
    '[user]\n\tname = AI Orchestrator agent\n\temail = orchestrator@localhost\n',
    { flag: 'wx' },
  ).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

/** Options of {@link buildAgentEnv}. */
export interface AgentEnvOptions {
  /** The model API key; for the scripted model server any placeholder works. */
  readonly apiKey: string;
  /** Where the model API is: the scripted server, a gateway, or unset for Anthropic's. */
  readonly baseUrl?: string | undefined;
  /** Claude Code's config and transcript folder; keeps the user's ~/.claude untouched. */
  readonly configDir: string;
  /** The agents' HOME (see {@link agentFolders}). */
  readonly home: string;
  /** The agents' TMPDIR (see {@link agentFolders}). */
  readonly tmpDir: string;
  /** A folder put first on the agents' PATH (see {@link agentFolders}). @default none */
  readonly bin?: string | undefined;
  /** Claude Code's own retries of 429/529/5xx per request. @default Claude Code's (10) */
  readonly maxRetries?: number | undefined;
  /** The orchestrator's environment, where {@link HOST_VARIABLES_PASSED} are read. @default process.env */
  readonly host?: Readonly<Record<string, string | undefined>>;
  /** Extra variables, applied last. @default none */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The complete environment of a Claude Code process (the SDK's `env` replaces the child's
 * environment): an allow-list, never the host's whole environment. From the host only
 * {@link HOST_VARIABLES_PASSED} and `LC_*` (the PATH after the agents' own `bin`); HOME and
 * TMPDIR are the agents' own folders; the Anthropic and Claude Code variables come from the
 * orchestrator's configuration alone. An agent type adds its own with {@link withAgentTypeEnv}.
 */
export function buildAgentEnv(options: AgentEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.host ?? process.env)) {
    if (value !== undefined && (HOST_VARIABLES_PASSED.includes(key) || LOCALE.test(key))) env[key] = value;
  }
  // Without a PATH of the host's, the system's default search stays (and there is no npm to shim).
  if (options.bin !== undefined && env.PATH) env.PATH = `${options.bin}${path.delimiter}${env.PATH}`;
  env.HOME = options.home;
  env.TMPDIR = options.tmpDir;
  env.ANTHROPIC_API_KEY = options.apiKey;
  if (options.baseUrl) env.ANTHROPIC_BASE_URL = options.baseUrl;
  env.CLAUDE_CONFIG_DIR = options.configDir;
  env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
  env.DISABLE_TELEMETRY = '1';
  env.DISABLE_AUTOUPDATER = '1';
  env.DISABLE_ERROR_REPORTING = '1';
  if (options.maxRetries !== undefined) env.CLAUDE_CODE_MAX_RETRIES = String(options.maxRetries);
  Object.assign(env, options.extra);
  return env;
}

/** Variables the orchestrator sets itself: an agent type cannot set or pass them. */
const RESERVED = new Set(['HOME', 'TMPDIR', 'DISABLE_TELEMETRY', 'DISABLE_AUTOUPDATER', 'DISABLE_ERROR_REPORTING']);

/** Whether the orchestrator owns a variable of the agents' environment (see {@link checkAgentEnvName}). */
export function isReservedEnvName(name: string): boolean {
  return RESERVED.has(name) || name.startsWith('ANTHROPIC_') || name.startsWith('CLAUDE_') || name === 'CLAUDECODE';
}

/**
 * Why a name cannot be declared in an agent type's `env` (`literal`) or `passEnv`, or
 * undefined when it can. A literal value is recorded with the workflow definition, so a name
 * that looks like a secret's must come from the orchestrator's environment (`passEnv`), where
 * its value is known and redacted.
 */
export function checkAgentEnvName(name: string, kind: 'literal' | 'passed'): string | undefined {
  if (!ENV_NAME.test(name)) return `"${name}" is not a variable name (letters, digits, _; not starting with a digit)`;
  if (isReservedEnvName(name)) return `"${name}" is set by the orchestrator itself and cannot be changed`;
  if (kind === 'literal' && SECRET_NAME_PATTERN.test(name)) {
    return `"${name}" looks like a secret: literal values are recorded with the workflow; pass it from the orchestrator's environment with passEnv`;
  }
  return undefined;
}

/** What an agent type declares for its environment. */
export interface DeclaredAgentEnv {
  /** Literal values. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Names copied from the orchestrator's environment (unset ones are left out). */
  readonly passEnv?: readonly string[] | undefined;
}

/**
 * The environment of an agent of a type: the runtime's `base` plus what the type declares.
 * Reserved names ({@link isReservedEnvName}) are never overridden, whoever built the spec.
 * Returns `base` itself when the type declares nothing.
 */
export function withAgentTypeEnv(
  base: Readonly<Record<string, string>>,
  declared: DeclaredAgentEnv,
  host: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const passed = declared.passEnv ?? [];
  const literal = Object.entries(declared.env ?? {});
  if (passed.length === 0 && literal.length === 0) return base as Record<string, string>;
  const env: Record<string, string> = { ...base };
  for (const name of passed) {
    const value = host[name];
    if (value !== undefined && !isReservedEnvName(name)) env[name] = value;
  }
  for (const [name, value] of literal) if (!isReservedEnvName(name)) env[name] = value;
  return env;
}

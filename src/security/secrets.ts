import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OrchestratorError } from '../errors/index.ts';
import { type KnownSecret, Redactor } from './redact.ts';

/**
 * Names of variables whose values are taken for secrets. `AUTH` not followed by `OR`, so that
 * `GIT_AUTHOR_NAME` is not one.
 */
export const SECRET_NAME_PATTERN = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH(?!OR)/i;

/**
 * Values of variables named like secrets shorter than this are not redacted: `true`, `1`,
 * `none` would otherwise be replaced everywhere they appear.
 */
export const MIN_NAMED_SECRET_LENGTH = 8;

/**
 * Values the operator lists (or the model key) shorter than this are refused: a value that
 * short would be replaced in every word it is part of.
 */
export const MIN_LISTED_SECRET_LENGTH = 4;

/** Variables named like secrets whose values are not: `ORCHESTRATOR_SECRETS` lists names and files. */
const NOT_SECRET = new Set(['ORCHESTRATOR_SECRETS']);

/** What the operator listed in `ORCHESTRATOR_SECRETS`: variable names and files of secrets. */
export interface SecretListing {
  /** Variables of the orchestrator's environment whose values are secret. */
  readonly names: readonly string[];
  /** Files of secrets: `NAME=value` lines, or one bare value a line (`#` starts a comment). */
  readonly files: readonly string[];
}

/** Where the secrets of an orchestrator process come from. */
export interface SecretSources {
  /** The orchestrator's environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The model API key in use (it may come from a flag or code rather than the environment). */
  readonly modelKey?: string | undefined;
  /** Connection URLs whose passwords are secret, by name (`DATABASE_URL`, `REDIS_URL`). */
  readonly urls?: Readonly<Record<string, string | undefined>>;
  /** What the operator listed (`ORCHESTRATOR_SECRETS`). @default none */
  readonly listed?: SecretListing | undefined;
}

/**
 * Every secret value of an orchestrator process: the model key, values of environment
 * variables named like keys, tokens, passwords and secrets ({@link SECRET_NAME_PATTERN}, at
 * least {@link MIN_NAMED_SECRET_LENGTH} characters), passwords in connection URLs, and what
 * the operator listed. A listed variable that is unset is skipped.
 * @throws OrchestratorError `CONFIG_INVALID` when a listed file cannot be read or a listed
 * value is shorter than {@link MIN_LISTED_SECRET_LENGTH}
 */
export function collectSecrets(sources: SecretSources): KnownSecret[] {
  const env = sources.env ?? process.env;
  const found: KnownSecret[] = [];
  const problems: string[] = [];
  const listed = (name: string, value: string | undefined, where: string) => {
    if (value === undefined || value === '') return;
    if (value.length < MIN_LISTED_SECRET_LENGTH) {
      problems.push(`${where}: the value of ${name} is shorter than ${MIN_LISTED_SECRET_LENGTH} characters`);
      return;
    }
    found.push({ name, value });
  };
  if (sources.modelKey !== undefined && sources.modelKey.length >= MIN_LISTED_SECRET_LENGTH) {
    found.push({ name: 'ANTHROPIC_API_KEY', value: sources.modelKey });
  }
  for (const [name, value] of Object.entries(env)) {
    if (NOT_SECRET.has(name)) continue;
    if (value !== undefined && value.length >= MIN_NAMED_SECRET_LENGTH && SECRET_NAME_PATTERN.test(name)) {
      found.push({ name, value });
    }
  }
  for (const [name, url] of Object.entries(sources.urls ?? {})) found.push(...urlPassword(name, url));
  for (const name of sources.listed?.names ?? []) listed(name, env[name], 'ORCHESTRATOR_SECRETS');
  for (const file of sources.listed?.files ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`ORCHESTRATOR_SECRETS: cannot read the secrets file ${file} (${(error as Error).message})`);
      continue;
    }
    for (const [index, line] of text.split(/\r?\n/).entries()) {
      const entry = parseSecretLine(line);
      if (entry) listed(entry.name ?? `${path.basename(file)}:${index + 1}`, entry.value, `${file}:${index + 1}`);
    }
  }
  if (problems.length > 0) {
    throw new OrchestratorError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return found;
}

/** What the redactor of an orchestrator process needs of its configuration (an `OrchestratorConfig` has it). */
export interface SecretConfig {
  readonly anthropicApiKey?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly redisUrl?: string | undefined;
  /** `ORCHESTRATOR_SECRETS`. */
  readonly secrets?: SecretListing | undefined;
}

/**
 * The redactor of an orchestrator process: the secrets of its configuration and environment
 * (see {@link collectSecrets}). With `lenient`, listed secrets that cannot be read are left out
 * instead of refused: for reporting an error, when nothing may throw.
 * @throws OrchestratorError `CONFIG_INVALID` (not lenient) as {@link collectSecrets}
 */
export function secretRedactor(
  config: SecretConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { lenient?: boolean } = {},
): Redactor {
  const sources: SecretSources = {
    env,
    modelKey: config.anthropicApiKey,
    urls: { DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl },
    listed: config.secrets,
  };
  try {
    return new Redactor(collectSecrets(sources));
  } catch (error) {
    if (!options.lenient) throw error;
    return new Redactor(collectSecrets({ ...sources, listed: undefined }));
  }
}

/** A variable name as the shell spells it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One line of a secrets file: `NAME=value` (quotes stripped), a bare value, or nothing. */
function parseSecretLine(line: string): { name?: string; value: string } | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(text);
  if (!match) return { value: text };
  const raw = (match[2] as string).trim();
  const unquoted = /^(['"])(.*)\1$/.exec(raw)?.[2] ?? raw;
  return { name: match[1] as string, value: unquoted };
}

/** The password of a connection URL, as written and decoded. */
function urlPassword(name: string, url: string | undefined): KnownSecret[] {
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  if (parsed.password.length < MIN_LISTED_SECRET_LENGTH) return [];
  const decoded = safeDecode(parsed.password);
  return decoded === parsed.password
    ? [{ name, value: parsed.password }]
    : [
        { name, value: parsed.password },
        { name, value: decoded },
      ];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../src/config/index.ts';
import { isOrchestratorError } from '../../src/errors/index.ts';
import { collectSecrets, SECRET_NAME_PATTERN, secretRedactor } from '../../src/security/index.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-secrets-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secret values', () => {
  it('takes variables named like keys, tokens and passwords, long enough to be secrets', () => {
    const env = {
      AWS_SECRET_ACCESS_KEY: 'plantedAWSsecretValue',
      GITHUB_TOKEN: 'ghp_plantedTokenValue',
      DB_PASSWORD: 'hunter2hunter2',
      NPM_AUTH: 'npm-auth-value-1',
      SHORT_TOKEN: 'abc',
      GIT_AUTHOR_NAME: 'Ada Lovelace the author',
      PATH: '/usr/bin:/bin',
      HOME: '/home/ada',
    };
    expect(collectSecrets({ env }).map((s) => s.name)).toEqual([
      'AWS_SECRET_ACCESS_KEY',
      'GITHUB_TOKEN',
      'DB_PASSWORD',
      'NPM_AUTH',
    ]);
    expect(SECRET_NAME_PATTERN.test('private_key_file')).toBe(true);
    expect(SECRET_NAME_PATTERN.test('GIT_COMMITTER_NAME')).toBe(false);
  });

  it('adds the model key, URL passwords (as written and decoded) and what the operator lists', async () => {
    const file = path.join(dir, 'secrets.env');
    await writeFile(
      file,
      '# comment\nexport STRIPE=sk_live_plantedStripe\nQUOTED="quoted value here"\nbare-value-1234\n\n',
    );
    const secrets = collectSecrets({
      env: { GH_PAT: 'github_pat_planted', UNSET_ONE: undefined },
      modelKey: 'test-model-key-planted-key',
      urls: { DATABASE_URL: 'postgres://ada:p%40ss%2Fword@db:5432/x', REDIS_URL: 'redis://db:6379' },
      listed: { names: ['GH_PAT', 'UNSET_ONE'], files: [file] },
    });
    expect(secrets).toEqual([
      { name: 'ANTHROPIC_API_KEY', value: 'test-model-key-planted-key' },
      { name: 'DATABASE_URL', value: 'p%40ss%2Fword' },
      { name: 'DATABASE_URL', value: 'p@ss/word' },
      { name: 'GH_PAT', value: 'github_pat_planted' },
      { name: 'STRIPE', value: 'sk_live_plantedStripe' },
      { name: 'QUOTED', value: 'quoted value here' },
      { name: 'secrets.env:4', value: 'bare-value-1234' },
    ]);
  });

  it('refuses an unreadable secrets file and a listed value too short to redact, all at once', () => {
    const failure = (() => {
      try {
        collectSecrets({ env: { TINY: 'ab' }, listed: { names: ['TINY'], files: [path.join(dir, 'missing')] } });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(isOrchestratorError(failure, 'CONFIG_INVALID')).toBe(true);
    expect((failure as Error).message).toContain('the value of TINY is shorter than 4 characters');
    expect((failure as Error).message).toContain(`cannot read the secrets file ${path.join(dir, 'missing')}`);
    // Lenient (for error reporting): the listing is left out, the rest still redacts.
    const lenient = secretRedactor(
      { anthropicApiKey: 'test-model-key-planted-key', secrets: { names: [], files: [path.join(dir, 'missing')] } },
      {},
      { lenient: true },
    );
    expect(lenient.redactText('k=test-model-key-planted-key')).toBe('k=[REDACTED:ANTHROPIC_API_KEY]');
  });
});

describe('ORCHESTRATOR_SECRETS in the configuration', () => {
  it('parses names and @files, and shows them (not their values) in the printed config', () => {
    const config = loadConfig({}, { ORCHESTRATOR_SECRETS: 'GH_PAT, NPM_PAT,@relative/file' });
    expect(config.secrets).toEqual({ names: ['GH_PAT', 'NPM_PAT'], files: [path.resolve('relative/file')] });
    expect(redactConfig(config).secrets).toEqual(config.secrets);
    expect(loadConfig({}, {}).secrets).toEqual({ names: [], files: [] });
  });

  it('reports an entry that is neither a name nor a file', () => {
    expect(() => loadConfig({}, { ORCHESTRATOR_SECRETS: 'GOOD,not a name' })).toThrow(
      /secrets \(ORCHESTRATOR_SECRETS\): expected variable names or @FILE separated by commas, got "not a name"/,
    );
  });

  it('builds the process redactor from the config and the environment', () => {
    const config = loadConfig(
      { anthropicApiKey: 'test-model-key-from-a-flag', databaseUrl: 'postgres://u:dbpassword1@h/db' },
      { ORCHESTRATOR_SECRETS: 'PLAIN_NAMED' },
    );
    const redactor = secretRedactor(config, { PLAIN_NAMED: 'operator-listed', MY_API_KEY: 'host-api-key-1' });
    expect(redactor.names).toEqual(['ANTHROPIC_API_KEY', 'DATABASE_URL', 'MY_API_KEY', 'PLAIN_NAMED']);
    expect(redactor.redactText('test-model-key-from-a-flag dbpassword1 operator-listed host-api-key-1')).toBe(
      '[REDACTED:ANTHROPIC_API_KEY] [REDACTED:DATABASE_URL] [REDACTED:PLAIN_NAMED] [REDACTED:MY_API_KEY]',
    );
  });
});

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentFolders,
  buildAgentEnv,
  checkAgentEnvName,
  prepareAgentFolders,
  withAgentTypeEnv,
} from '../../src/security/index.ts';
import { compileAgentType } from '../../src/workflow/index.ts';
import { problemsOf } from '../workflow/definition/helpers.ts';

const HOST = {
  PATH: '/usr/local/bin:/usr/bin',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'en_US.UTF-8',
  TERM: 'xterm-256color',
  TZ: 'Europe/Paris',
  HOME: '/home/ada',
  USER: 'ada',
  SHELL: '/bin/zsh',
  AWS_SECRET_ACCESS_KEY: 'plantedAWSsecretValue',
  ANTHROPIC_API_KEY: 'test-model-key-host-key',
  CLAUDE_CONFIG_DIR: '/home/ada/.claude',
  SSH_AUTH_SOCK: '/tmp/ssh-agent.sock',
  GITHUB_TOKEN: 'ghp_plantedTokenValue',
  HTTPS_PROXY: 'http://proxy:3128',
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orch-agent-env-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the agents' environment", () => {
  it('is an allow-list: nothing of the host but PATH, locale, TERM and TZ; HOME and TMPDIR its own', () => {
    const folders = agentFolders('/data');
    const env = buildAgentEnv({ apiKey: 'sk-model', baseUrl: 'http://127.0.0.1:1', ...folders, host: HOST });
    expect(env).toEqual({
      // The host's PATH after the agents' own commands (the npm shim).
      PATH: `/data/bin:${HOST.PATH}`,
      LANG: HOST.LANG,
      LC_ALL: HOST.LC_ALL,
      TERM: HOST.TERM,
      TZ: HOST.TZ,
      HOME: '/data/home',
      TMPDIR: '/data/tmp',
      ANTHROPIC_API_KEY: 'sk-model',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
      CLAUDE_CONFIG_DIR: '/data/claude',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
    });
  });

  it("adds what an agent type declares, never over the orchestrator's own variables", () => {
    const base = buildAgentEnv({ apiKey: 'sk-model', ...agentFolders('/data'), host: HOST });
    expect(withAgentTypeEnv(base, { env: {}, passEnv: [] }, HOST)).toBe(base);
    const env = withAgentTypeEnv(
      base,
      {
        env: { NODE_ENV: 'test', HOME: '/elsewhere', ANTHROPIC_BASE_URL: 'http://evil' },
        passEnv: ['GITHUB_TOKEN', 'NOT_SET', 'CLAUDE_CONFIG_DIR', 'HTTPS_PROXY'],
      },
      HOST,
    );
    expect(env).toEqual({
      ...base,
      NODE_ENV: 'test',
      GITHUB_TOKEN: HOST.GITHUB_TOKEN,
      HTTPS_PROXY: HOST.HTTPS_PROXY,
    });
  });

  it('creates HOME and TMPDIR for the owner alone, with a git identity, keeping existing files', async () => {
    const folders = agentFolders(path.join(dir, 'data'));
    await prepareAgentFolders(folders);
    expect((await stat(folders.home)).mode & 0o777).toBe(0o700);
    expect((await stat(folders.tmpDir)).mode & 0o777).toBe(0o700);
    expect((await stat(folders.configDir)).isDirectory()).toBe(true);
    expect(await readFile(path.join(folders.home, '.gitconfig'), 'utf8')).toContain('name = AI Orchestrator agent');
    await writeFile(path.join(folders.home, '.gitconfig'), '[user]\n\tname = Mine\n');
    await prepareAgentFolders(folders);
    expect(await readFile(path.join(folders.home, '.gitconfig'), 'utf8')).toBe('[user]\n\tname = Mine\n');
  });
});

describe('env and passEnv of an agent type', () => {
  it('checks names: shell names, not reserved, no literal secrets', () => {
    expect(checkAgentEnvName('NODE_ENV', 'literal')).toBeUndefined();
    expect(checkAgentEnvName('GIT_AUTHOR_NAME', 'literal')).toBeUndefined();
    expect(checkAgentEnvName('GITHUB_TOKEN', 'passed')).toBeUndefined();
    expect(checkAgentEnvName('GITHUB_TOKEN', 'literal')).toMatch(/looks like a secret/);
    expect(checkAgentEnvName('1BAD', 'passed')).toMatch(/not a variable name/);
    expect(checkAgentEnvName('CLAUDE_CODE_MAX_RETRIES', 'passed')).toMatch(/set by the orchestrator/);
  });

  it('reports every bad name of a definition with its path', () => {
    const { problems } = problemsOf(
      () =>
        compileAgentType({
          name: 'x',
          env: { 'BAD-NAME': 'v', API_KEY: 'sk-literal', HOME: '/h', OK: 'fine' },
          passEnv: ['GITHUB_TOKEN', 'ANTHROPIC_API_KEY', ''],
        }),
      'AGENT_TYPE_INVALID',
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'env["BAD-NAME"]: invalid name: "BAD-NAME" is not a variable name (letters, digits, _; not starting with a digit)',
      `env.API_KEY: invalid name: "API_KEY" looks like a secret: literal values are recorded with the workflow; pass it from the orchestrator's environment with passEnv`,
      'env.HOME: invalid name: "HOME" is set by the orchestrator itself and cannot be changed',
      'passEnv[1]: "ANTHROPIC_API_KEY" is set by the orchestrator itself and cannot be changed',
      'passEnv[2]: "" is not a variable name (letters, digits, _; not starting with a digit)',
    ]);
  });
});

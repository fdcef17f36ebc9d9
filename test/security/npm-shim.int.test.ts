import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../../src/events/index.ts';
import { EventLog } from '../../src/log/index.ts';
import { NPM_ROOT_CACHE } from '../../src/security/index.ts';
import { findNpm, npmShimScript } from '../../src/security/npm-shim.ts';
import { openEventStore } from '../../src/store/index.ts';
import { describeResult, type ProcessResult, runCli, tempDir } from '../support/cli-kit.ts';

// Claude Code runs `npm root -g` at the start of every agent process, outside its sandbox; the
// orchestrator's npm shim (first on the agents' PATH, in the data directory) answers it from a
// cache. A real agent run shows Claude Code used it, that an agent's own npm still works, and
// that the agent can neither replace the file Claude Code runs unsandboxed nor add one beside
// it, even with the data directory inside its workspace (`--workspace` on a checkout holding
// the default `.orchestrator`), where nothing but the protection of that folder stops it. The
// session's versions record that workspace without the data directory in it.

const SESSION = 'ses_npm_shim';
let root: { dir: string; cleanup(): Promise<void> };
let dataDir: string;
let bin: string;
let result: ProcessResult;

beforeAll(async () => {
  root = await tempDir('npm-shim');
  const workspace = path.join(root.dir, 'checkout');
  dataDir = path.join(workspace, '.orchestrator');
  await mkdir(workspace);
  bin = path.join(dataDir, 'bin');
  await writeFile(
    path.join(root.dir, 'scenario.yaml'),
    `
name: npm-shim
scripts:
  - name: builder
    match: { system: "You are the builder" }
    turns:
      - content: [{ tool_use: { name: Bash, input: { command: "npm root -g; echo root-exit=$?", description: Root } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "npm --version; echo version-exit=$?", description: Version } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "echo 'echo pwned' > .orchestrator/bin/npm; echo write-exit=$?", description: Replace } } }]
      - content: [{ tool_use: { name: Write, input: { file_path: "${path.join(bin, 'git')}", content: "echo pwned" } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "printf '[core]\\n\\tfsmonitor = touch pwned\\n' >> .orchestrator/home/.gitconfig; echo gitconfig-exit=$?", description: Config } } }]
      - content: [{ tool_use: { name: Bash, input: { command: "mkdir -p .orchestrator/history/x.git && echo x > .orchestrator/history/x.git/config; echo history-exit=$?", description: History } } }]
      - "Done."
`,
  );
  await writeFile(
    path.join(root.dir, 'workflow.yaml'),
    `
name: npm-shim
agents:
  builder: { systemPrompt: "You are the builder.", tools: [Bash, Write] }
nodes:
  - { id: build, agent: builder, task: "Build." }
`,
  );
  result = await runCli(
    [
      'run',
      path.join(root.dir, 'workflow.yaml'),
      '--session',
      SESSION,
      '--workspace',
      workspace,
      '--model-server',
      path.join(root.dir, 'scenario.yaml'),
    ],
    { dataDir },
  );
}, 180_000);

afterAll(async () => {
  await root?.cleanup();
});

async function toolResults(): Promise<string[]> {
  const log = new EventLog(await openEventStore({ kind: 'sqlite', path: path.join(dataDir, 'events.db') }));
  try {
    const out: string[] = [];
    for await (const event of log.readAll(SESSION)) {
      if ((event as AnyEvent).type === 'agent.tool_result') out.push(JSON.stringify(event.data));
    }
    return out;
  } finally {
    await log.close();
  }
}

const run = promisify(execFile);

describe('a real agent in a workspace that holds the data directory', () => {
  it("has Claude Code's `npm root -g` answered by the shim, and its own npm working", async () => {
    expect(result.code, describeResult(result)).toBe(0);
    const realNpm = await findNpm(process.env.PATH, bin);
    expect(realNpm).toBeDefined();
    const realRoot = (await run(realNpm as string, ['root', '-g'])).stdout.trim();
    const realVersion = (await run(realNpm as string, ['--version'])).stdout.trim();
    // Kept by the shim when Claude Code asked, outside the sandbox (the agent cannot write there).
    expect((await readFile(path.join(bin, NPM_ROOT_CACHE), 'utf8')).trim()).toBe(realRoot);
    const [rootAnswer, version] = await toolResults();
    expect(rootAnswer).toContain(`${realRoot}\\nroot-exit=0`);
    expect(version).toContain(`${realVersion}\\nversion-exit=0`);
    expect(await readFile(path.join(bin, 'npm'), 'utf8')).toBe(
      npmShimScript(realNpm as string, path.join(bin, NPM_ROOT_CACHE)),
    );
  });

  it('cannot write what runs outside the sandbox: the shim, a command beside it, its HOME, the histories', async () => {
    expect(result.code, describeResult(result)).toBe(0);
    const [, , bashWrite, toolWrite, gitconfig, history] = await toolResults();
    expect(bashWrite).toMatch(/write-exit=[1-9]/);
    expect(await readFile(path.join(bin, 'npm'), 'utf8')).not.toContain('pwned');
    // A new command in the folder would shadow one Claude Code runs unsandboxed (git): refused.
    expect(toolWrite).toContain('"isError":true');
    expect(toolWrite).toMatch(/denied|deny/i);
    await expect(readFile(path.join(bin, 'git'), 'utf8')).rejects.toThrow(/ENOENT/);
    // Nor a git setting Claude Code's own git calls would run (its HOME), nor a history's config.
    expect(gitconfig).toMatch(/gitconfig-exit=[1-9]/);
    expect(await readFile(path.join(dataDir, 'home', '.gitconfig'), 'utf8')).not.toContain('fsmonitor');
    // The histories are hidden from sandboxed commands (an empty folder in their place, which
    // takes writes and goes with the process): whatever the command says, nothing lands.
    expect(history).toContain('history-exit=');
    await expect(readFile(path.join(dataDir, 'history', 'x.git', 'config'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('has its versions record the workspace, never the data directory inside it', async () => {
    expect(result.code, describeResult(result)).toBe(0);
    const recorded = (
      await run('git', [
        `--git-dir=${path.join(dataDir, 'history', `${SESSION}.git`)}`,
        'ls-tree',
        '-r',
        '--name-only',
        'HEAD',
      ])
    ).stdout;
    expect(recorded).not.toContain('.orchestrator');
  });
});

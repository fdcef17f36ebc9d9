import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OrchestratorError } from '../errors/index.ts';

const run = promisify(execFile);

/** Identity of the commits the orchestrator makes in workspaces. */
const IDENTITY = [
  '-c',
  'user.name=AI Orchestrator',
  '-c',
  'user.email=orchestrator@localhost',
  '-c',
  'commit.gpgsign=false',
];

/** Runs git in a folder; failures become `WORKSPACE_FAILED` with git's stderr. */
export async function git(
  cwd: string,
  args: string[],
  options: { allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run('git', [...IDENTITY, ...args], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      ...(options.env && { env: options.env }),
    });
    return { stdout: stdout.trim(), code: 0 };
  } catch (error) {
    const failure = error as { code?: number; stderr?: string; stdout?: string };
    if (options.allowFailure)
      return { stdout: (failure.stdout ?? '').trim(), code: typeof failure.code === 'number' ? failure.code : 1 };
    throw new OrchestratorError(
      'WORKSPACE_FAILED',
      `git ${args.join(' ')} failed in ${cwd}: ${(failure.stderr ?? String(error)).trim()}`,
      {
        cause: error,
      },
    );
  }
}

/** Commits everything in the folder when anything changed; returns the head commit. */
export async function commitAll(cwd: string, message: string): Promise<string> {
  await git(cwd, ['add', '-A']);
  const status = await git(cwd, ['status', '--porcelain']);
  // A repository without a commit yet (an empty workspace, or a process killed right after
  // `git init`) still needs one: worktrees and merges start from HEAD.
  const head = await git(cwd, ['rev-parse', '-q', '--verify', 'HEAD'], { allowFailure: true });
  if (status.stdout !== '' || head.code !== 0) {
    await git(cwd, ['commit', '-q', '--no-verify', '--allow-empty', '-m', message]);
  }
  return (await git(cwd, ['rev-parse', 'HEAD'])).stdout;
}

import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';

/**
 * Git inside a node's worktree, always with the worktree's own git directory named, as found
 * from the history repository's side (which agents cannot write), never through what the
 * worktree folder holds. The folder is the agent's: left to git's discovery, a `.git` it put
 * there (a repository of its own, or a `.git` file naming one) would choose the repository the
 * orchestrator, unsandboxed, commits the node's work in. One whose config names a command
 * (`core.fsmonitor`, hooks) had it run outside the sandbox; one naming a user's repository
 * had the node's files committed there.
 */
export interface WorktreeGit {
  /** The worktree folder (git's work tree). */
  readonly dir: string;
  /** Its git directory in the history repository: `<repository>/worktrees/<folder name>`. */
  readonly gitDir: string;
}

/**
 * The worktree registered at `dir` in `repository`, or undefined when git does not list one
 * there (never made, or forgotten by a `prune` after its `.git` file went).
 */
export async function worktreeGit(repository: string, dir: string): Promise<WorktreeGit | undefined> {
  // `worktree add` names the git directory after the folder; every attempt has a folder of its
  // own name, and the making of one first prunes what a removed folder left.
  const gitDir = path.join(repository, 'worktrees', path.basename(dir));
  let registered: string;
  try {
    registered = (await readFile(path.join(gitDir, 'gitdir'), 'utf8')).trim();
  } catch {
    return undefined;
  }
  // Absolute, or relative to the git directory with git's `worktree.useRelativePaths`.
  const [listed, actual] = await Promise.all([
    realpath(path.dirname(path.resolve(gitDir, registered))).catch(() => undefined),
    realpath(dir).catch(() => undefined),
  ]);
  return listed !== undefined && listed === actual ? { dir, gitDir } : undefined;
}

/** The options that make git work on this worktree whatever its folder holds. */
export function worktreeOptions(tree: WorktreeGit): string[] {
  return [`--git-dir=${tree.gitDir}`, `--work-tree=${tree.dir}`];
}

/** Runs git on the worktree (see {@link worktreeGit}). */
export function inWorktree(
  tree: WorktreeGit,
  args: string[],
  options: { allowFailure?: boolean } = {},
): Promise<{ stdout: string; code: number }> {
  return git(tree.dir, [...worktreeOptions(tree), ...args], options);
}

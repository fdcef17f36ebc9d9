import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { commitAll, git } from './git.ts';

async function isRepository(dir: string): Promise<boolean> {
  return stat(path.join(dir, '.git')).then(
    () => true,
    () => false,
  );
}

/**
 * Records the workspace's files as a git commit (creating the repository on first use) and
 * returns the commit; a version points at it so resume and fork can restore the files.
 */
export async function commitWorkspace(dir: string, message: string): Promise<string> {
  if (!(await isRepository(dir))) await git(dir, ['init', '-q', '-b', 'main']);
  return commitAll(dir, message);
}

/** A new folder holding the workspace's files as of `commit`, for a forked session. */
export async function restoreWorkspace(source: string, commit: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await git(path.dirname(target), ['clone', '-q', '--no-hardlinks', source, target]);
  await git(target, ['checkout', '-q', '-B', 'main', commit]);
}

/** Files that differ between two commits of a workspace. */
export async function changedFiles(dir: string, from: string, to: string): Promise<string[]> {
  const { stdout } = await git(dir, ['diff', '--name-only', from, to]);
  return stdout.split('\n').filter(Boolean);
}

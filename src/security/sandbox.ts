import { OrchestratorError } from '../errors/index.ts';

/** How Claude Code (2.1.331) says that a required sandbox cannot start, on stderr and in its error result. */
const UNAVAILABLE = /sandbox required but unavailable|sandbox is enabled but dependencies are missing/i;

/**
 * The typed error for a sandbox that cannot start, when Claude Code's output says so: the
 * agent does not start (Claude Code refuses, `failIfUnavailable`), and retrying cannot help
 * until the machine has the sandbox's dependencies (bubblewrap on Linux).
 */
export function sandboxUnavailable(...texts: readonly (string | undefined)[]): OrchestratorError | undefined {
  const text = texts.find((candidate) => candidate !== undefined && UNAVAILABLE.test(candidate));
  if (text === undefined) return undefined;
  const line =
    text
      .split('\n')
      .find((candidate) => UNAVAILABLE.test(candidate))
      ?.trim() ?? text.trim();
  return new OrchestratorError(
    'SANDBOX_UNAVAILABLE',
    `the agent's sandbox cannot start, so the agent did not start: ${line.replace(/^Error:\s*/, '')}`,
    {
      details: {
        hint: 'install bubblewrap (apt-get install bubblewrap), or opt the agent type out with sandbox: false',
      },
    },
  );
}

/**
 * Empty read-only files that Claude Code's sandbox (2.1.331, bubblewrap) places in the working
 * directory while a sandboxed command runs, as mount points that keep the command from writing
 * Claude Code's and git's configuration; they are removed when the command ends. A `git add -A`
 * of the workspace at that moment sees (or races with) them: code that records a workspace
 * while agents run in it should leave these paths out (e.g. `.git/info/exclude`).
 */
export const SANDBOX_PLACEHOLDERS: readonly string[] = [
  '.bash_profile',
  '.bashrc',
  '.gitconfig',
  '.gitmodules',
  '.idea',
  '.mcp.json',
  '.profile',
  '.ripgreprc',
  '.vscode',
  '.zprofile',
  '.zshrc',
  '.claude/',
];

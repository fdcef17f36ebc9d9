import { OrchestratorError } from '../errors/index.ts';

/** How Claude Code (2.1.331) says that a required sandbox cannot start, on stderr and in its error result. */
const UNAVAILABLE = /sandbox required but unavailable|sandbox is enabled but dependencies are missing/i;

/**
 * The typed error for a sandbox that cannot start, when Claude Code's output says so: the
 * agent does not start (Claude Code refuses, `failIfUnavailable`), and retrying cannot help
 * until the machine has the sandbox's dependencies (bubblewrap and socat on Linux).
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
        hint: 'install bubblewrap and socat (apt-get install bubblewrap socat), or opt the agent type out with sandbox: false',
      },
    },
  );
}

/**
 * Empty read-only files (mode 0444) that Claude Code's sandbox (2.1.331, bubblewrap) places in
 * the working directory while a sandboxed command runs, as mount points that keep the command
 * from writing Claude Code's and git's configuration; they are removed when it ends (an agent
 * killed mid-command can leave them). Recordings of a workspace (versions, worktree commits)
 * leave them out by their shape, not by this list, which changes with Claude Code's versions
 * (`UNSTAGE_SANDBOX_PLACEHOLDERS` in `src/workspace/git.ts`). Seen with 2.1.331.
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
  '.claude/agents',
  '.claude/commands',
  '.claude/hooks',
  '.claude/launch.json',
  '.claude/loop.md',
  '.claude/output-styles',
  '.claude/routines',
  '.claude/scheduled_tasks.json',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.claude/skills',
  '.claude/workflows',
];

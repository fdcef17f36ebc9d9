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

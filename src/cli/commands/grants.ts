import type { Command } from 'commander';
import { createCliContext, type GlobalOptions } from '../context.ts';

/**
 * `orchestrator sessions grant | revoke ID TYPE RULE`: change what an agent type of a session
 * may do while it runs. Recorded as a control request for the session's owner, which records
 * `security.granted` / `security.revoked` and applies it to the type's running agents at their
 * next call and to every later one; with no live owner, the next `sessions resume` applies it.
 */
export function registerGrantCommands(sessions: Command): void {
  const verb = (action: 'grant' | 'revoke', description: string) =>
    sessions
      .command(action)
      .argument('<sessionId>', 'the session')
      .argument('<agentType>', "the agent type (its name in the workflow's agents)")
      .argument('<rule>', "a rule in Claude Code's syntax, such as 'Bash(git push *)' or 'Edit(docs/**)'")
      .description(description)
      .option('--reason <text>', 'why (recorded with the change)')
      .action(
        async (sessionId: string, agentType: string, rule: string, flags: { reason?: string }, command: Command) => {
          const { requestControl } = await import('../../orchestrator/index.ts');
          const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
          try {
            const receipt = await requestControl(await context.openLog(), await context.openStore(), sessionId, {
              action,
              agentType,
              rule,
              by: 'cli',
              ...(flags.reason && { reason: flags.reason }),
            });
            const owner = receipt.owner
              ? `the process running it (${receipt.owner.host}, pid ${receipt.owner.pid}) applies it within a second`
              : 'no process runs the session now: it is applied when the session is resumed';
            process.stdout.write(`${action} of ${rule} for ${agentType} requested (${receipt.controlId}); ${owner}\n`);
          } finally {
            await context.close();
          }
        },
      );
  verb('grant', "allow an agent type's calls a rule covers when Claude Code asks (it cannot lift a deny rule)");
  verb('revoke', "deny an agent type's calls a rule covers, from its next call on");
}

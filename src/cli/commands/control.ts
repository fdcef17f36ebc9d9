import type { Command } from 'commander';
import type { ControlRequest } from '../../orchestrator/index.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';

/**
 * `orchestrator sessions cancel | pause | unpause | answer`: steer a session that another
 * process runs (or nobody runs yet). The request is recorded in the session's log; its owner,
 * wherever it runs, acts on it within a second, and with no live owner the next `sessions
 * resume` applies it.
 */
export function registerControlCommands(sessions: Command): void {
  const verb = (name: string, description: string, action: ControlRequest['action']) =>
    sessions
      .command(name)
      .argument('<sessionId>', 'the session')
      .description(description)
      .option('--reason <text>', 'why (recorded with the request)')
      .action(async (sessionId: string, flags: { reason?: string }, command: Command) => {
        await send(command, sessionId, { action, by: 'cli', ...(flags.reason && { reason: flags.reason }) });
      });
  verb('cancel', 'cancel a session: its running agents stop, nothing more starts', 'cancel');
  verb('pause', 'pause a session: running agents are interrupted, nothing starts until unpaused', 'pause');
  verb('unpause', 'let a paused session (paused by `sessions pause`) carry on', 'resume');
  sessions
    .command('answer')
    .argument('<sessionId>', 'the session')
    .argument('<requestId>', 'the open question (see `events ID` or the run output)')
    .argument('<answer>', 'the answer: JSON (true, {"approved":false,"comment":"..."}) or plain text')
    .description('answer an open question of a session another process runs')
    .action(async (sessionId: string, requestId: string, answer: string, _flags: unknown, command: Command) => {
      await send(command, sessionId, { action: 'answer', requestId, value: parseAnswer(answer), by: 'cli' });
    });
}

async function send(command: Command, sessionId: string, request: ControlRequest): Promise<void> {
  const { requestControl } = await import('../../orchestrator/index.ts');
  const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
  try {
    const receipt = await requestControl(await context.openLog(), await context.openStore(), sessionId, request);
    const owner = receipt.owner
      ? `the process running it (${receipt.owner.host}, pid ${receipt.owner.pid}) acts on it within a second`
      : 'no process runs the session now: it is applied when the session is resumed';
    process.stdout.write(`${request.action} requested for ${sessionId} (${receipt.controlId}); ${owner}\n`);
  } finally {
    await context.close();
  }
}

function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

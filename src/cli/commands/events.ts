import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { AnyEvent } from '../../events/index.ts';
import { createCliContext, type GlobalOptions } from '../context.ts';
import { formatEventLine } from '../format.ts';
import { parsePositiveInt } from './sessions.ts';

/** `orchestrator events ID [--from N] [--follow] [--json]`: prints a session's log. */
export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .argument('<sessionId>', 'the session')
    .description("print a session's events in order; --follow keeps printing new ones")
    .option('--from <seq>', 'first sequence number', '1')
    .option('--follow', 'keep waiting for new events (polls the store, so it sees other processes)')
    .option('--json', 'print events as JSON lines')
    .action(
      async (sessionId: string, options: { from: string; follow?: boolean; json?: boolean }, command: Command) => {
        const context = createCliContext(command.optsWithGlobals<GlobalOptions>());
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        try {
          const log = await context.openLog();
          const print = (event: AnyEvent) =>
            process.stdout.write(options.json ? `${JSON.stringify(event)}\n` : `${formatEventLine(event)}\n`);
          let next = parsePositiveInt(options.from, '--from');
          do {
            for await (const event of log.readAll(sessionId, next)) {
              print(event);
              next = event.seq + 1;
            }
            if (options.follow) await sleep(250, undefined, { signal: abort.signal }).catch(() => undefined);
          } while (options.follow && !abort.signal.aborted);
        } finally {
          process.off('SIGINT', stop);
          await context.close();
        }
      },
    );
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import type { AnyEvent } from '../../events/index.ts';
import { parsePositiveInt } from '../args.ts';
import { type CliContext, createCliContext, type GlobalOptions } from '../context.ts';
import { formatEventLine } from '../format.ts';

/** How often `--follow` polls the store (it sees events of other processes too). */
const POLL_MS = 250;

interface EventsFlags {
  from: string;
  follow?: boolean;
  forever?: boolean;
  json?: boolean;
  full?: boolean;
}

/**
 * `orchestrator events ID [--from N] [--follow [--forever]] [--json] [--full]`: prints a session's
 * log. With `--full`, fields the log shortened are printed whole where their value is stored
 * (read from the session's payload blobs, verified against their digests).
 * With `--follow` it keeps printing new events until the session's workflow has ended
 * (completed, failed or cancelled), or until Ctrl-C; with `--forever` only Ctrl-C ends it (a
 * session followed across its end: versions taken, control requests refused afterwards).
 * Ctrl-C ends a follow with exit 0: it is the way to stop one, not a failure.
 * @throws OrchestratorError `SESSION_NOT_FOUND` (exit 2) for a session the store does not hold.
 */
export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .argument('<sessionId>', 'the session')
    .description("print a session's events in order; --follow keeps printing new ones until its workflow ends")
    .option('--from <seq>', 'first sequence number', '1')
    .option('--follow', 'keep printing new events until the workflow ends (polls the store: sees other processes)')
    .option('--forever', 'with --follow (implied): keep following after the workflow ends, until Ctrl-C')
    .option('--json', 'print events as JSON lines')
    .option('--full', 'print shortened fields (large tool inputs, results, messages) whole, where stored')
    .action(async (sessionId: string, options: EventsFlags, command: Command) => {
      const from = parsePositiveInt(options.from, '--from');
      const follow = options.follow === true || options.forever === true;
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const log = await context.openLog();
        if ((await log.lastSeq(sessionId)) === 0) {
          throw new OrchestratorError(
            'SESSION_NOT_FOUND',
            `no session "${sessionId}" in the ${context.config.store} store`,
            {
              details: { sessionId },
            },
          );
        }
        const full = options.full ? await payloadReader(context) : undefined;
        const print = async (stored: AnyEvent) => {
          if (!full) {
            process.stdout.write(options.json ? `${JSON.stringify(stored)}\n` : `${formatEventLine(stored)}\n`);
            return;
          }
          const event = await full.restore(stored);
          // A line cuts its payload short: the restored fields follow it whole.
          process.stdout.write(
            options.json ? `${JSON.stringify(event)}\n` : `${formatEventLine(stored)}\n${full.format(event)}`,
          );
        };
        // Read from the start whatever --from says: whether the workflow has ended is in the
        // whole log.
        const workflows = new OpenWorkflows();
        let next = 1;
        for (;;) {
          for await (const event of log.readAll(sessionId, next)) {
            workflows.observe(event);
            if (event.seq >= from) await print(event);
            next = event.seq + 1;
          }
          if (!follow || (workflows.ended && options.forever !== true) || abort.signal.aborted) break;
          await sleep(POLL_MS, undefined, { signal: abort.signal }).catch(() => undefined);
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await context.close();
      }
    });
}

/** `--full`: the sessions manager (loaded only then) reading payloads for {@link withFullFields}. */
async function payloadReader(
  context: CliContext,
): Promise<{ restore(event: AnyEvent): Promise<AnyEvent>; format(event: AnyEvent): string }> {
  const [{ withFullFields, formatFullFields }, sessions] = await Promise.all([
    import('../payloads.ts'),
    context.openSessions(),
  ]);
  const read = (sessionId: string, sha256: string) => sessions.payload(sessionId, sha256);
  return { restore: (event) => withFullFields(event, read), format: formatFullFields };
}

/** Which workflows of a session have started and not ended, from its events in order. */
class OpenWorkflows {
  readonly #open = new Set<string>();
  #started = false;

  observe(event: AnyEvent): void {
    if (event.type === 'workflow.started') {
      this.#started = true;
      this.#open.add(event.data.workflowId);
    } else if (event.type === 'workflow.completed') {
      this.#open.delete(event.data.workflowId);
    }
  }

  /** True once a workflow has started and every workflow started has ended. */
  get ended(): boolean {
    return this.#started && this.#open.size === 0;
  }
}

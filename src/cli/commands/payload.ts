import type { Command } from 'commander';
import { createCliContext, type GlobalOptions } from '../context.ts';

/**
 * `orchestrator sessions payload ID SHA256 [--json]`: the full value of an event field the log
 * shortened (its event's `truncated` entry names the digest), read from the session's payload
 * blobs and verified against the digest. Prints the value's text exactly as stored (a tool
 * input is its JSON text), or with `--json` one line `{ sessionId, sha256, bytes, text }`.
 * @throws OrchestratorError `SESSION_NOT_FOUND`, `INVALID_ARGUMENT`, `PAYLOAD_NOT_FOUND`, `PAYLOAD_CORRUPT`
 */
export function registerPayloadCommand(sessions: Command): void {
  sessions
    .command('payload')
    .argument('<sessionId>', 'the session')
    .argument('<sha256>', 'the digest a shortened field names (the sha256 of its `truncated` entry)')
    .description('print the full value of an event field the log shortened (a large tool input, result or message)')
    .option('--json', 'print JSON: sessionId, sha256, bytes, text')
    .action(async (sessionId: string, sha256: string, options: { json?: boolean }, command: Command) => {
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const payload = await (await context.openSessions()).payload(sessionId, sha256);
        process.stdout.write(options.json ? `${JSON.stringify(payload)}\n` : payload.text);
      } finally {
        await context.close();
      }
    });
}

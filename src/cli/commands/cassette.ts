import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { createCliContext, type GlobalOptions } from '../context.ts';

/** `sessions cassette ID [-o FILE]`: a session's recorded model exchanges as a replayable scenario. */
export function registerCassetteCommand(sessions: Command): void {
  sessions
    .command('cassette')
    .argument('<sessionId>', 'the session whose model exchanges were recorded')
    .description(
      'write the recorded model exchanges of a session as a cassette: a scenario the scripted model server replays (docs/cassettes.md)',
    )
    .option('-o, --output <file>', 'write the cassette to this file (default: standard output)')
    .action(async (sessionId: string, options: { output?: string }, command: Command) => {
      const { buildCassette, cassetteToYaml, loadRecording } = await import('../../gateway/index.ts');
      const context = await createCliContext(command.optsWithGlobals<GlobalOptions>());
      try {
        const exchanges = await loadRecording(await context.openTranscripts(), sessionId);
        const cassette = buildCassette(sessionId, exchanges);
        const text = cassetteToYaml(cassette);
        if (options.output === undefined) {
          process.stdout.write(text);
          return;
        }
        const file = path.resolve(options.output);
        await writeFile(file, text);
        const conversations = new Set(cassette.replay.map((entry) => entry.conversation)).size;
        process.stdout.write(
          `wrote ${file}: ${cassette.replay.length} exchanges in ${conversations} conversations of session ${sessionId}\n`,
        );
      } finally {
        await context.close();
      }
    });
}

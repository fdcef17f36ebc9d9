import type { Command } from 'commander';
import { runModelServerCommand } from '../../model-server/index.ts';
import { parsePositiveInt } from './sessions.ts';

/** `orchestrator model-server --scenario FILE [--port N]`. */
export function registerModelServerCommand(program: Command): void {
  program
    .command('model-server')
    .description('serve the offline scripted model (an Anthropic Messages API look-alike) until Ctrl-C')
    .requiredOption('--scenario <file>', 'scenario file (see docs/scenarios.md)')
    .option('--port <n>', 'port (default: a free one)')
    .option('--host <host>', 'interface', '127.0.0.1')
    .action(async (options: { scenario: string; port?: string; host: string }) => {
      await runModelServerCommand({
        scenario: options.scenario,
        host: options.host,
        ...(options.port !== undefined && {
          port: options.port === '0' ? 0 : parsePositiveInt(options.port, '--port'),
        }),
      });
    });
}

import type { Command } from 'commander';
import { parsePositiveInt } from '../args.ts';

/** `orchestrator model-server --scenario FILE [--port N]`. */
export function registerModelServerCommand(program: Command): void {
  program
    .command('model-server')
    .description('serve the offline scripted model (an Anthropic Messages API look-alike) until Ctrl-C')
    .requiredOption('--scenario <file>', 'scenario file (see docs/scenarios.md)')
    .option('--port <n>', 'port (default: a free one)')
    .option('--host <host>', 'interface', '127.0.0.1')
    .option('--log <file>', 'also append every request it serves to this file as JSON lines (with times)')
    .action(async (options: { scenario: string; port?: string; host: string; log?: string }) => {
      const port = options.port === undefined || options.port === '0' ? 0 : parsePositiveInt(options.port, '--port');
      const { runModelServerCommand } = await import('../../model-server/index.ts');
      await runModelServerCommand({ scenario: options.scenario, host: options.host, port, requestLog: options.log });
    });
}

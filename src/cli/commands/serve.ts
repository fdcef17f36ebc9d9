import type { Command } from 'commander';
import { OrchestratorError } from '../../errors/index.ts';
import { collect } from '../args.ts';
import type { GlobalOptions } from '../context.ts';

/** `orchestrator serve [--host 127.0.0.1] [--port 7700]`: the HTTP API, running the workflows it starts. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (REST, live streams, OpenAPI at /openapi.json and /docs) until Ctrl-C')
    .option('--host <host>', 'address to listen on (beyond loopback only with API keys)', '127.0.0.1')
    .option('--port <n>', 'port (0: a free one)', '7700')
    .option('--model-server <scenario>', 'run workflows against the offline scripted model with this scenario file')
    .option(
      '--cors-origin <origin>',
      'a browser origin allowed to call the API (repeatable; CORS is off without)',
      collect,
      [],
    )
    .action(
      async (flags: { host: string; port: string; modelServer?: string; corsOrigin: string[] }, command: Command) => {
        const port = parsePort(flags.port);
        const globals = command.optsWithGlobals<GlobalOptions>();
        // Loaded only when serving: the other commands never pay for Fastify.
        const [{ loadConfig }, { runServeCommand }] = await Promise.all([
          import('../../config/index.ts'),
          import('../../server/index.ts'),
        ]);
        const config = loadConfig({
          dataDir: globals.dataDir,
          store: globals.store,
          logLevel: globals.logLevel ?? 'warn',
        });
        await runServeCommand({
          config,
          scenario: flags.modelServer,
          settings: { host: flags.host, port, corsOrigins: flags.corsOrigin },
        });
      },
    );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65_535) {
    throw new OrchestratorError('INVALID_ARGUMENT', `--port expects 0 to 65535, got "${value}"`, {
      details: { field: '--port' },
    });
  }
  return port;
}

import { startModelServer } from './server.ts';
import type { ModelServerLogger } from './server-types.ts';

/** Options of {@link runModelServerCommand}. */
export interface ModelServerCommandOptions {
  /** Path of the scenario file. */
  scenario: string;
  /**
   * TCP port; 0 picks a free one (the printed URL tells which).
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Append every served request to this file as a JSON line (see `ModelServerOptions.requestLog`).
   * @default none
   */
  requestLog?: string | undefined;
  /**
   * Stops the server like SIGINT/SIGTERM do (for embedding and tests).
   * @default none
   */
  signal?: AbortSignal;
  /**
   * Receives the `listening` line.
   * @default writes the line to stdout
   */
  print?: (line: string) => void;
  /**
   * Receives one line per request and warnings.
   * @default writes to stderr
   */
  logger?: ModelServerLogger;
}

const stderrLogger: ModelServerLogger = {
  info(message) {
    process.stderr.write(`${message}\n`);
  },
  warn(message, details) {
    process.stderr.write(`warning: ${message}${details ? ` ${JSON.stringify(details)}` : ''}\n`);
  },
};

/**
 * The `model-server` CLI command: starts the scripted model server, prints
 * `scripted model server listening on URL` and resolves once SIGINT, SIGTERM or `signal`
 * has stopped it.
 * @throws OrchestratorError `SCENARIO_INVALID` or `MODEL_SERVER_START_FAILED` before listening.
 */
export async function runModelServerCommand(options: ModelServerCommandOptions): Promise<void> {
  const server = await startModelServer({
    scenario: options.scenario,
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    logger: options.logger ?? stderrLogger,
    requestLog: options.requestLog,
  });
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  print(`scripted model server listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
}

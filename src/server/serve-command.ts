import type { OrchestratorConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { Orchestrator } from '../orchestrator/index.ts';
import { secretRedactor } from '../security/index.ts';
import type { ServerOptions } from './options.ts';
import { ApiServer } from './server.ts';

/** Options of {@link runServeCommand}. */
export interface ServeCommandOptions {
  readonly config: OrchestratorConfig;
  /** Forces the offline scripted model with this scenario file. @default only without a model key */
  readonly scenario?: string | undefined;
  readonly settings: ServerOptions;
  /** Stops the server like SIGINT/SIGTERM do (embedding, tests). @default none */
  readonly signal?: AbortSignal;
  /** Receives the status lines. @default stdout */
  readonly print?: (line: string) => void;
}

/**
 * The `serve` command: opens an orchestrator (store, model access, monitor), starts the API on
 * it, prints where it listens, and on SIGINT, SIGTERM or `signal` shuts down gracefully: live
 * streams end, requests in flight finish, then the workflows this process runs are suspended,
 * left resumable (`sessions resume` or `POST /v1/sessions/{id}/resume` on another server).
 * @throws OrchestratorError `CONFIG_INVALID`, `STORE_*`, `SERVER_START_FAILED` before listening
 */
export async function runServeCommand(options: ServeCommandOptions): Promise<void> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const redactor = secretRedactor(options.config);
  const orchestrator = await Orchestrator.open({
    config: options.config,
    scenario: options.scenario,
    redactor,
    logger: createLogger({ level: options.config.logLevel, redactor }),
    notice: print,
  });
  let server: ApiServer;
  try {
    server = await ApiServer.start({ orchestrator, settings: options.settings });
  } catch (error) {
    await orchestrator.close();
    throw error;
  }
  print(`API listening on ${server.url} (OpenAPI document: ${server.url}/openapi.json, UI: ${server.url}/docs)`);
  if (await server.keyless()) {
    print(
      'no API key exists: requests from this machine need none until one is created (orchestrator keys create --name NAME --scope read,run)',
    );
  }
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
  print('stopping: live streams end, running sessions are left resumable');
  try {
    await server.close();
  } finally {
    await orchestrator.close();
  }
}

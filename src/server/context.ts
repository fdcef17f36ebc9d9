import type { Logger } from '../logging/index.ts';
import type { Orchestrator } from '../orchestrator/index.ts';
import type { OrchestratorStore } from '../store/index.ts';
import type { KeyAuthenticator } from './auth.ts';
import type { CompiledServerOptions } from './options.ts';
import type { Streams } from './streams/index.ts';

/**
 * What the routes use: the orchestrator that runs and steers workflows (the same process runs
 * what it starts), its store (for the API's own tables: keys and registered workflows), the
 * authenticator, the settings, the logger and the live streams.
 */
export interface ApiContext {
  readonly orchestrator: Orchestrator;
  readonly store: OrchestratorStore;
  readonly auth: KeyAuthenticator;
  readonly options: CompiledServerOptions;
  readonly logger: Logger;
  /** The tails, the sessions feed and the open stream connections. */
  readonly streams: Streams;
}

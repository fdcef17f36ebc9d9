import path from 'node:path';
import { type ConfigInput, loadConfig, type OrchestratorConfig } from '../config/index.ts';
import { EventLog } from '../log/index.ts';
import { createLogger, type Logger } from '../logging/index.ts';
import { type ReportSource, reportSource } from '../reports/index.ts';
import { type Redactor, secretRedactor } from '../security/index.ts';
import { SessionManager } from '../sessions/index.ts';
import { type OrchestratorStore, openEventStore, type TranscriptStore } from '../store/index.ts';

/** Global options every verb accepts. */
export interface GlobalOptions {
  dataDir?: string;
  store?: string;
  logLevel?: string;
}

/** What a CLI verb needs: the validated config, a logger, and a way to open the log. */
export interface CliContext {
  readonly config: OrchestratorConfig;
  readonly logger: Logger;
  /** Known secret values, redacted from what this invocation writes (events, logs, output). */
  readonly redactor: Redactor;
  /** Opens the configured store once and wraps it in an event log. */
  openLog(): Promise<EventLog>;
  /** What the read models (`src/reports`) read: the opened log and its leases. */
  openReports(): Promise<ReportSource>;
  /** The session manager (versions, diff, fork, export, import) over the opened log. */
  openSessions(): Promise<SessionManager>;
  /** The transcript store of the opened store (agents' transcripts, gateway recordings). */
  openTranscripts(): Promise<TranscriptStore>;
  /** Closes whatever was opened. Idempotent. */
  close(): Promise<void>;
}

/** Builds the context of one CLI invocation from flags and environment. */
export function createCliContext(options: GlobalOptions): CliContext {
  const overrides: ConfigInput = { dataDir: options.dataDir, store: options.store, logLevel: options.logLevel };
  const config = loadConfig(overrides);
  const redactor = secretRedactor(config);
  const logger = createLogger({ level: config.logLevel, redactor });
  let openedStore: Promise<OrchestratorStore> | undefined;
  let log: Promise<EventLog> | undefined;
  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    redactor,
    openLog() {
      openedStore ??= openStore(config);
      log ??= openedStore.then((store) => new EventLog(store, { redactor }));
      return log;
    },
    async openReports() {
      const opened = await this.openLog();
      const store = await (openedStore ?? openStore(config));
      return reportSource(opened, { leases: store, storeName: `the ${config.store} store` });
    },
    async openSessions() {
      const opened = await this.openLog();
      const store = await (openedStore ?? openStore(config));
      return new SessionManager({ log: opened, versionStore: store, transcriptStore: store, dataDir: config.dataDir });
    },
    async openTranscripts() {
      await this.openLog();
      return openedStore ?? openStore(config);
    },
    close() {
      closing ??= (async () => {
        if (log) await (await log).close();
        logger.flush();
      })();
      return closing;
    },
  };
}

/** Opens the store the config names: SQLite under the data directory, or PostgreSQL. */
export function openStore(config: OrchestratorConfig): Promise<OrchestratorStore> {
  if (config.store === 'postgres') {
    // loadConfig rejects store=postgres without DATABASE_URL, so the URL is present here.
    const url = config.databaseUrl as string;
    return openEventStore({ kind: 'postgres', url, schema: config.postgresSchema });
  }
  return openEventStore({
    kind: 'sqlite',
    path: path.join(config.dataDir, 'events.db'),
    synchronous: config.sqliteSynchronous,
  });
}

import path from 'node:path';
import type { OrchestratorConfig } from '../config/index.ts';
import type { EventLog } from '../log/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ReportSource } from '../reports/index.ts';
import type { Redactor } from '../security/index.ts';
import type { SessionManager } from '../sessions/index.ts';
import type { OrchestratorStore, TranscriptStore } from '../store/index.ts';

// Only types are imported statically: the command registrations import this module, and
// loading the config schema, the logger, the store or the session manager is paid by the
// command that uses them, when it runs (see main.ts).

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
  /** The opened store itself (leases, versions, transcripts), opened once with the log. */
  openStore(): Promise<OrchestratorStore>;
  /** What the read models (`src/reports`) read: the opened log and its leases. */
  openReports(): Promise<ReportSource>;
  /** The session manager (versions, diff, fork, export, import) over the opened log. */
  openSessions(): Promise<SessionManager>;
  /** The transcript store of the opened store (agents' transcripts, gateway recordings). */
  openTranscripts(): Promise<TranscriptStore>;
  /** Closes whatever was opened. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the context of one CLI invocation from flags and environment.
 * @throws OrchestratorError `CONFIG_INVALID` (exit 3)
 */
export async function createCliContext(options: GlobalOptions): Promise<CliContext> {
  const [{ loadConfig }, { createLogger }, { secretRedactor }] = await Promise.all([
    import('../config/index.ts'),
    import('../logging/index.ts'),
    import('../security/index.ts'),
  ]);
  const config = loadConfig({ dataDir: options.dataDir, store: options.store, logLevel: options.logLevel });
  const redactor = secretRedactor(config);
  const logger = createLogger({ level: config.logLevel, redactor });
  let store: Promise<OrchestratorStore> | undefined;
  let log: Promise<EventLog> | undefined;
  let closing: Promise<void> | undefined;
  const context: CliContext = {
    config,
    logger,
    redactor,
    openStore() {
      store ??= openStore(config);
      return store;
    },
    openLog() {
      log ??= (async () => {
        const { EventLog } = await import('../log/index.ts');
        return new EventLog(await context.openStore(), { redactor });
      })();
      return log;
    },
    async openReports() {
      const [{ reportSource }, opened, leases] = await Promise.all([
        import('../reports/index.ts'),
        context.openLog(),
        context.openStore(),
      ]);
      return reportSource(opened, { leases, storeName: `the ${config.store} store` });
    },
    async openSessions() {
      const [{ SessionManager }, opened, versions] = await Promise.all([
        import('../sessions/index.ts'),
        context.openLog(),
        context.openStore(),
      ]);
      return new SessionManager({
        log: opened,
        versionStore: versions,
        transcriptStore: versions,
        payloadStore: versions.payloads,
        dataDir: config.dataDir,
      });
    },
    async openTranscripts() {
      await context.openLog();
      return context.openStore();
    },
    close() {
      closing ??= (async () => {
        // The log owns the store: closing it closes the store. A store opened without a log
        // (a failure between the two) is closed on its own.
        if (log) await (await log).close();
        else if (store) await (await store).close();
        logger.flush();
      })();
      return closing;
    },
  };
  return context;
}

/** Opens the store the config names: SQLite under the data directory, or PostgreSQL. */
export async function openStore(config: OrchestratorConfig): Promise<OrchestratorStore> {
  const { openEventStore } = await import('../store/index.ts');
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

import type { AnyEvent } from '../events/index.ts';
import type { Lease, ListSessionsOptions, SessionSummary } from '../store/index.ts';

/**
 * What the read models read, and nothing more: a session's events, the list of sessions, and
 * (optionally) a session's lease, to tell whether a live process runs it. An `EventLog` has the
 * first three; {@link reportSource} adds the lease store beside it.
 *
 * Deliberately left out: appending, fencing, streaming. Reports never write, and a live view
 * subscribes to the log itself.
 */
export interface ReportSource {
  lastSeq(sessionId: string): Promise<number>;
  readAll(sessionId: string): AsyncIterable<AnyEvent>;
  listSessions(options?: ListSessionsOptions): Promise<SessionSummary[]>;
  /**
   * The session's lease, live or expired; undefined when none or released. Without it, a
   * session whose workflow has not ended is taken to be run by a live process (nothing says
   * otherwise).
   */
  getLease?(sessionId: string): Promise<Lease | undefined>;
  /** How messages name the store (`the sqlite store`). @default `the store` */
  readonly storeName?: string;
}

/** The log's reading half and a lease store, as one {@link ReportSource}. */
export function reportSource(
  log: Pick<ReportSource, 'lastSeq' | 'readAll' | 'listSessions'>,
  options: { leases?: { getLease(sessionId: string): Promise<Lease | undefined> }; storeName?: string } = {},
): ReportSource {
  const { leases, storeName } = options;
  return {
    lastSeq: (sessionId) => log.lastSeq(sessionId),
    readAll: (sessionId) => log.readAll(sessionId),
    listSessions: (listOptions) => log.listSessions(listOptions),
    ...(leases && { getLease: (sessionId: string) => leases.getLease(sessionId) }),
    ...(storeName !== undefined && { storeName }),
  };
}

/** Every event of a session, in order. */
export async function readEvents(source: ReportSource, sessionId: string): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  for await (const event of source.readAll(sessionId)) events.push(event);
  return events;
}

import type { AnyEvent } from '../events/index.ts';
import { type Lease, type ListSessionsOptions, leaseIsLive, type SessionSummary } from '../store/index.ts';

/**
 * What the read models read, and nothing more: a session's events, the list of sessions, and
 * (optionally) a session's lease with a verdict on whether its owner lives, to tell a running
 * session from one whose process died. An `EventLog` has the first three; {@link reportSource}
 * adds the lease store beside it.
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
  /**
   * Whether the owner of a lease is alive. @default the store's `leaseIsLive`: unexpired, and
   * on this host its pid alive
   */
  ownerAlive?(lease: Lease): boolean;
  /** How messages name the store (`the sqlite store`). @default `the store` */
  readonly storeName?: string;
}

/** Options of {@link reportSource}. */
export interface ReportSourceOptions {
  readonly leases?: { getLease(sessionId: string): Promise<Lease | undefined> };
  readonly ownerAlive?: (lease: Lease) => boolean;
  readonly storeName?: string;
}

/** The log's reading half and a lease store, as one {@link ReportSource}. */
export function reportSource(
  log: Pick<ReportSource, 'lastSeq' | 'readAll' | 'listSessions'>,
  options: ReportSourceOptions = {},
): ReportSource {
  const { leases, ownerAlive, storeName } = options;
  return {
    lastSeq: (sessionId) => log.lastSeq(sessionId),
    readAll: (sessionId) => log.readAll(sessionId),
    listSessions: (listOptions) => log.listSessions(listOptions),
    ...(leases && { getLease: (sessionId: string) => leases.getLease(sessionId) }),
    ...(ownerAlive && { ownerAlive }),
    ...(storeName !== undefined && { storeName }),
  };
}

/** Every event of a session, in order. */
export async function readEvents(source: ReportSource, sessionId: string): Promise<AnyEvent[]> {
  const events: AnyEvent[] = [];
  for await (const event of source.readAll(sessionId)) events.push(event);
  return events;
}

/**
 * The session's lease and whether its owner lives; undefined when the source has no leases.
 * Read before the events: an owner that ends the workflow meanwhile is then seen alive with a
 * finished workflow, never dead with an unfinished one.
 */
export async function ownerVerdict(
  source: ReportSource,
  sessionId: string,
): Promise<{ lease: Lease | undefined; alive: boolean } | undefined> {
  if (!source.getLease) return undefined;
  const lease = await source.getLease(sessionId);
  if (lease === undefined) return { lease, alive: false };
  const alive = source.ownerAlive ? source.ownerAlive(lease) : leaseIsLive(lease);
  return { lease, alive };
}

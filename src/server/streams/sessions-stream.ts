import type { z } from 'zod';
import type { SessionSummary } from '../../store/index.ts';
import type { sessionListRow } from '../contract/sessions.ts';
import type { SessionViews } from '../views/sessions.ts';
import type { SessionFeed } from './feed.ts';

type Row = z.input<typeof sessionListRow>;

/**
 * The row of each summary the feed announced, made once for every client that sends it: the
 * feed hands the same summary object to all its listeners.
 */
const ROWS = new WeakMap<SessionSummary, Promise<Row | undefined>>();

function rowOf(views: SessionViews, summary: SessionSummary): Promise<Row | undefined> {
  let row = ROWS.get(summary);
  if (row === undefined) {
    row = views.row(summary);
    ROWS.set(summary, row);
    // A failed read is not shared with clients that come to this summary later.
    row.catch(() => ROWS.delete(summary));
  }
  return row;
}

/** Options of {@link followSessions}. */
export interface FollowSessionsOptions {
  readonly feed: SessionFeed;
  readonly views: SessionViews;
  /** Rows sent first: the newest sessions. */
  readonly limit: number;
  readonly heartbeatMs: number;
  readonly signal: AbortSignal;
  /** Sends a row; a promise means: wait for the client before the next. */
  readonly send: (row: Row) => Promise<void> | undefined;
  readonly heartbeat: (at: string) => Promise<void> | undefined;
}

/**
 * The sessions list as it changes, for one client: the newest `limit` rows first, then the row
 * of each session that changes (made once for all clients). Changes wait in a map by session while the client is busy, so
 * a slow client gets the latest row of each changed session once, and holds at most one entry
 * per session, however fast sessions change.
 */
export async function followSessions(options: FollowSessionsOptions): Promise<void> {
  const { feed, views, signal } = options;
  const pending = new Map<string, SessionSummary>();
  let wake: (() => void) | undefined;
  const unsubscribe = await feed.subscribe((summary) => {
    pending.set(summary.sessionId, summary);
    wake?.();
  });
  try {
    const first = await views.list({ limit: options.limit, scan: options.limit });
    for (const row of first.sessions) {
      if (signal.aborted) return;
      pending.delete(row.sessionId);
      await options.send(row);
    }
    while (!signal.aborted) {
      const next = pending.entries().next();
      if (next.done) {
        const woken = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => finish(false), options.heartbeatMs);
          const abort = () => finish(false);
          function finish(value: boolean) {
            clearTimeout(timer);
            wake = undefined;
            signal.removeEventListener('abort', abort);
            resolve(value);
          }
          wake = () => finish(true);
          signal.addEventListener('abort', abort, { once: true });
        });
        if (!woken && !signal.aborted) await options.heartbeat(new Date().toISOString());
        continue;
      }
      const [sessionId, summary] = next.value;
      pending.delete(sessionId);
      const row = await rowOf(views, summary);
      if (row !== undefined) await options.send(row);
    }
  } finally {
    unsubscribe();
  }
}

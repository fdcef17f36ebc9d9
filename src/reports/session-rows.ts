import type { SessionSummary } from '../store/index.ts';
import type { ReportSource } from './source.ts';

/** One row of `sessions list`: a stored session and the extent of its log. */
export type SessionRow = SessionSummary;

/** Options of {@link sessionRows}. */
export interface SessionRowsOptions {
  /** At most this many sessions. @default 50 */
  readonly limit?: number;
  /** Only sessions created before this one (keyset paging). */
  readonly before?: string;
}

/** The stored sessions, newest first. */
export async function sessionRows(source: ReportSource, options: SessionRowsOptions = {}): Promise<SessionRow[]> {
  return source.listSessions({
    limit: options.limit ?? 50,
    ...(options.before !== undefined && { before: options.before }),
  });
}

import { toOrchestratorError } from '../errors/index.ts';
import type { SessionSummary } from '../store/index.ts';
import { projectSessionReport, type ReportedStatus } from './session-report.ts';
import { ownerVerdict, type ReportSource, readEvents } from './source.ts';

/**
 * One row of `sessions list` and `GET /v1/sessions`: a stored session, the extent of its log,
 * and (with `details`) what a list shows of it: status, workflow, cost, whether it can be
 * resumed. A session whose log cannot be read has `unreadable` instead of the details.
 */
export interface SessionRow extends SessionSummary {
  readonly status?: ReportedStatus;
  readonly resumable?: boolean;
  /** The name of its latest workflow run. */
  readonly workflow?: string;
  /** Its cost (see `CostReport.costUsd`), inherited spending included. */
  readonly costUsd?: number;
  readonly agents?: number;
  /** The session it was forked or imported from. */
  readonly origin?: string;
  /** The error code its log failed with (`STORE_CORRUPT`). */
  readonly unreadable?: string;
}

/** Options of {@link sessionRows}. */
export interface SessionRowsOptions {
  /** At most this many sessions. @default 50 */
  readonly limit?: number;
  /** Only sessions created before this one (keyset paging). */
  readonly before?: string;
  /**
   * Read each session's log for its status, workflow and cost (a replay per row). @default true
   */
  readonly details?: boolean;
}

/** Errors about the store as a whole: they end the listing. */
const STORE_WIDE = new Set(['STORE_UNAVAILABLE', 'STORE_CLOSED']);

/**
 * The stored sessions, newest first; with details, each one's status (an unfinished one no live
 * process runs is `interrupted`), workflow, cost and origin.
 * @throws OrchestratorError `STORE_UNAVAILABLE`, `STORE_CLOSED`
 */
export async function sessionRows(source: ReportSource, options: SessionRowsOptions = {}): Promise<SessionRow[]> {
  const summaries = await source.listSessions({
    limit: options.limit ?? 50,
    ...(options.before !== undefined && { before: options.before }),
  });
  if (options.details === false) return summaries;
  const rows: SessionRow[] = [];
  for (const summary of summaries) {
    try {
      const owner = await ownerVerdict(source, summary.sessionId);
      const report = projectSessionReport(summary.sessionId, await readEvents(source, summary.sessionId), owner);
      const workflow = Object.values(report.metrics.workflows).at(-1)?.name;
      const origin = report.origin?.fromSessionId;
      rows.push({
        ...summary,
        status: report.status,
        resumable: report.resumable,
        ...(workflow !== undefined && { workflow }),
        costUsd: report.cost.costUsd,
        agents: report.metrics.session.agents,
        ...(origin !== undefined && { origin }),
      });
    } catch (error) {
      const failure = toOrchestratorError(error);
      if (STORE_WIDE.has(failure.code)) throw failure;
      rows.push({ ...summary, unreadable: failure.code });
    }
  }
  return rows;
}

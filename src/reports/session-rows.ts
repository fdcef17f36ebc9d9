import { toOrchestratorError } from '../errors/index.ts';
import { recordedModel } from '../sessions/index.ts';
import type { SessionSummary } from '../store/index.ts';
import { projectSessionReport, type ReportedStatus, type SessionReport } from './session-report.ts';
import { ownerVerdict, type ReportSource, readEvents } from './source.ts';

/**
 * What a list can say of a session's state: a {@link ReportedStatus}, or `unreadable` when its
 * log could not be read.
 */
export type RowStatus = ReportedStatus | 'unreadable';

/** Every {@link RowStatus}, in the order help texts list them. */
export const ROW_STATUSES: readonly RowStatus[] = [
  'running',
  'awaiting_input',
  'paused',
  'interrupted',
  'rolling_back',
  'completed',
  'failed',
  'cancelled',
  'empty',
  'unreadable',
];

/**
 * One row of `sessions list` and `GET /v1/sessions`: a stored session, the extent of its log,
 * and (with `details`) what a list shows of it: status, workflow, cost, whether it can be
 * resumed. A session whose log cannot be read has `unreadable` (the error's code) instead of
 * the details, and the status `unreadable`.
 */
export interface SessionRow extends SessionSummary {
  readonly status?: RowStatus;
  readonly resumable?: boolean;
  /** The name of its latest workflow run. */
  readonly workflow?: string;
  /** Its cost (see `CostReport.costUsd`), inherited spending included. */
  readonly costUsd?: number;
  /** Input and output tokens of its agents (cache reads and writes apart), as the session's figures count them. */
  readonly tokens?: number;
  /** How long its owners ran it (the report's `activeMs`: first event to last, less the downtime). */
  readonly durationMs?: number;
  /** The offline scripted model answered it (as its latest run recorded): its cost is simulated. */
  readonly simulated?: boolean;
  readonly agents?: number;
  /** The session it was forked or imported from. */
  readonly origin?: string;
  /** The live process that runs it, when one does. */
  readonly owner?: { readonly host: string; readonly pid: number };
  /** The error code its log failed with (`STORE_CORRUPT`). */
  readonly unreadable?: string;
  /** The error's message, beside its code. */
  readonly error?: string;
}

/** Options of {@link sessionRows}. */
export interface SessionRowsOptions {
  /** At most this many sessions (after the filters). @default 50 */
  readonly limit?: number;
  /** Only sessions created before this one (keyset paging). */
  readonly before?: string;
  /**
   * Read each session's log for its status, workflow and cost (a replay per row). @default true
   */
  readonly details?: boolean;
  /** Only sessions in these states (implies details). @default every state */
  readonly statuses?: readonly RowStatus[] | undefined;
  /** Only sessions whose latest workflow has this name (implies details). @default every workflow */
  readonly workflow?: string | undefined;
  /** Only sessions whose id or workflow name contains this text, ignoring case (implies details). @default all */
  readonly query?: string | undefined;
}

/** The filters of a listing: what {@link rowMatches} checks. */
export interface RowFilter {
  readonly statuses?: readonly string[] | undefined;
  readonly workflow?: string | undefined;
  /** Text the session id or the workflow name contains, ignoring case; blank matches all. */
  readonly query?: string | undefined;
}

/**
 * Whether a row passes a listing's filters: the one rule of `sessions list` and
 * `GET /v1/sessions` (status, workflow name, and a search over the id and workflow name).
 */
export function rowMatches(row: Pick<SessionRow, 'sessionId' | 'status' | 'workflow'>, filter: RowFilter): boolean {
  if (filter.statuses !== undefined && !filter.statuses.includes(row.status ?? 'unreadable')) return false;
  if (filter.workflow !== undefined && row.workflow !== filter.workflow) return false;
  const needle = filter.query?.trim().toLowerCase() ?? '';
  if (needle === '') return true;
  return row.sessionId.toLowerCase().includes(needle) || (row.workflow ?? '').toLowerCase().includes(needle);
}

/** Errors about the store as a whole: they end the listing. */
const STORE_WIDE = new Set(['STORE_UNAVAILABLE', 'STORE_CLOSED']);
/** How many sessions one store query lists while filtering. */
const PAGE = 100;

/**
 * The stored sessions, newest first; with details, each one's status (an unfinished one no live
 * process runs is `interrupted`), workflow, cost and origin. With filters, pages through the
 * store until `limit` rows match.
 * @throws OrchestratorError `STORE_UNAVAILABLE`, `STORE_CLOSED`
 */
export async function sessionRows(source: ReportSource, options: SessionRowsOptions = {}): Promise<SessionRow[]> {
  const limit = options.limit ?? 50;
  const filtered =
    options.statuses !== undefined || options.workflow !== undefined || (options.query?.trim() ?? '') !== '';
  if (!filtered) {
    const summaries = await source.listSessions({
      limit,
      ...(options.before !== undefined && { before: options.before }),
    });
    if (options.details === false) return summaries;
    const rows: SessionRow[] = [];
    for (const summary of summaries) rows.push(await sessionRow(source, summary));
    return rows;
  }
  const rows: SessionRow[] = [];
  let before = options.before;
  for (;;) {
    const page = await source.listSessions({ limit: PAGE, ...(before !== undefined && { before }) });
    for (const summary of page) {
      const row = await sessionRow(source, summary);
      if (!rowMatches(row, options)) continue;
      rows.push(row);
      if (rows.length >= limit) return rows;
    }
    if (page.length < PAGE) return rows;
    before = page.at(-1)?.sessionId;
  }
}

/** One session's row with its details, read from its log and lease. */
async function sessionRow(source: ReportSource, summary: SessionSummary): Promise<SessionRow> {
  try {
    const owner = await ownerVerdict(source, summary.sessionId);
    const events = await readEvents(source, summary.sessionId);
    const report = projectSessionReport(summary.sessionId, events, owner);
    return rowOfReport(summary, report, recordedModel(events)?.kind === 'scripted');
  } catch (error) {
    const failure = toOrchestratorError(error);
    if (STORE_WIDE.has(failure.code)) throw failure;
    return { ...summary, status: 'unreadable', unreadable: failure.code, error: failure.message };
  }
}

/**
 * A session's row from its report: what {@link sessionRows} lists, for a reader that keeps
 * reports current itself (the HTTP API). `simulated`: its latest run recorded the scripted model.
 */
export function rowOfReport(summary: SessionSummary, report: SessionReport, simulated: boolean): SessionRow {
  const workflow = Object.values(report.metrics.workflows).at(-1)?.name;
  const origin = report.origin?.fromSessionId;
  return {
    ...summary,
    status: report.status,
    resumable: report.resumable,
    ...(workflow !== undefined && { workflow }),
    costUsd: report.cost.costUsd,
    tokens: report.metrics.session.inputTokens + report.metrics.session.outputTokens,
    durationMs: report.activeMs,
    simulated,
    agents: report.metrics.session.agents,
    ...(origin !== undefined && { origin }),
    ...(report.owner && { owner: { host: report.owner.host, pid: report.owner.pid } }),
  };
}

/**
 * Read models: what the CLI prints and the HTTP API serves about stored sessions (a session's
 * report, statistics over sessions, the rows of a session list, a session's versions), as
 * plain typed objects with zod schemas. Pure projections over events where possible, and thin
 * async functions that read them through a {@link ReportSource}.
 */

export type { BudgetLine } from './budgets.ts';
export { budgetLines } from './budgets.ts';
export type { CostReport } from './cost.ts';
export { costReport } from './cost.ts';
export type { OriginReport } from './origin.ts';
export { originReport } from './origin.ts';
export {
  budgetLineSchema,
  costReportSchema,
  figuresSchema,
  metricsStateSchema,
  originReportSchema,
  sessionReportSchema,
  sessionRowSchema,
  statisticsReportSchema,
  versionRowSchema,
} from './schemas.ts';
export type { OwnerFacts, ReportDraft, ReportedStatus, SessionOwner, SessionReport } from './session-report.ts';
export {
  applyReportEvent,
  emptyReportDraft,
  finishReport,
  projectSessionReport,
  sessionNotFound,
  sessionReport,
} from './session-report.ts';
export type { RowFilter, RowStatus, SessionRow, SessionRowsOptions } from './session-rows.ts';
export { ROW_STATUSES, rowMatches, rowOfReport, sessionRows } from './session-rows.ts';
export type { ReportSource, ReportSourceOptions } from './source.ts';
export { ownerVerdict, readEvents, reportSource } from './source.ts';
export type { SkippedSession, StatisticsOptions, StatisticsReport } from './statistics.ts';
export { countEachSpendOnce, statistics } from './statistics.ts';
export type { VersionLister, VersionRow } from './version-rows.ts';
export { versionRow, versionRows } from './version-rows.ts';

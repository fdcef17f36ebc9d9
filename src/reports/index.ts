/**
 * Read models: what the CLI prints and the HTTP API serves about stored sessions (a session's
 * report, statistics over sessions, the rows of a session list, a session's versions), as
 * plain typed objects with zod schemas. Pure projections over events where possible, and thin
 * async functions that read them through a {@link ReportSource}.
 */

export {
  figuresSchema,
  metricsStateSchema,
  sessionReportSchema,
  sessionRowSchema,
  statisticsReportSchema,
  versionRowSchema,
} from './schemas.ts';
export type { SessionReport, SessionReportDraft } from './session-report.ts';
export {
  applyReportEvent,
  emptySessionReport,
  projectSessionReport,
  sessionNotFound,
  sessionReport,
} from './session-report.ts';
export type { SessionRow, SessionRowsOptions } from './session-rows.ts';
export { sessionRows } from './session-rows.ts';
export type { ReportSource } from './source.ts';
export { readEvents, reportSource } from './source.ts';
export type { StatisticsOptions, StatisticsReport } from './statistics.ts';
export { statistics } from './statistics.ts';
export type { VersionLister, VersionRow } from './version-rows.ts';
export { versionRow, versionRows } from './version-rows.ts';

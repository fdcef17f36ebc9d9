/** Sessions that survive anything: versions (verified snapshots), diff, fork, export and import, retention (prune). */

export type { AutoVersionsOptions } from './auto-versions.ts';
export { AutoVersions, VERSION_TRIGGERS } from './auto-versions.ts';
export { StateChunker } from './chunks.ts';
export { CutBudget } from './cut-budget.ts';
export type { ImportTrust } from './import-policy.ts';
export { mcpCommandsOf } from './import-policy.ts';
export type { AgentTranscript, ForkedSession, ForkPoint, SessionManagerOptions } from './manager.ts';
export { SessionManager } from './manager.ts';
export type { StoredPayload } from './payloads.ts';
export type { PruneResult, PruneTotals } from './prune.ts';
export type {
  CompiledPruneOptions,
  KeptSession,
  PlannedDeletion,
  PruneContext,
  PruneOptionNames,
  PruneOptions,
  PrunePlan,
  PruneSession,
  SessionStatus,
  VersionTrim,
} from './prune-plan.ts';
export {
  compilePruneOptions,
  FINISHED_STATUSES,
  formatAge,
  MAX_PRUNE_AGE_MS,
  planPrune,
  SESSION_STATUSES,
  sessionStatus,
} from './prune-plan.ts';
export type { RecordedModel } from './recorded-model.ts';
export { recordedModel } from './recorded-model.ts';
export type { SnapshotFormats, SnapshotMigrations, WrittenSnapshot } from './snapshot.ts';
export { migrateState, readSnapshot, SNAPSHOT_MIGRATIONS, SNAPSHOT_SCHEMA_VERSION, writeSnapshot } from './snapshot.ts';
export type { DiffSummary } from './summary.ts';
export { forkLog } from './transfer.ts';
export type { ExportResult, ExportSource } from './transfer-export.ts';
export { exportSession } from './transfer-export.ts';
export type { ImportResult } from './transfer-format.ts';
export { EXPORT_FORMAT, EXPORT_FORMAT_VERSION } from './transfer-format.ts';
export type { ImportOptions, ImportTarget } from './transfer-import.ts';
export { importSession } from './transfer-import.ts';
export type { TakeVersionOptions, VersionDiff } from './versions.ts';
export { SessionVersions } from './versions.ts';

/** Sessions that survive anything: versions (verified snapshots), diff, fork, export and import. */
export type { ChunkedSnapshot } from './snapshot.ts';
export { assembleState, chunkState, SNAPSHOT_SCHEMA_VERSION } from './snapshot.ts';
export { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, exportSession, forkLog, importSession } from './transfer.ts';
export type { DiffSummary, VersionDiff } from './versions.ts';
export { SessionVersions } from './versions.ts';

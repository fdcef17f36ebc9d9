import type { VersionRecord } from '../store/index.ts';

/** One version of a session as listed (`sessions versions`): its record without the snapshot's table of contents. */
export type VersionRow = Omit<VersionRecord, 'manifest'>;

/** What {@link versionRows} needs: a session manager (or anything that lists versions the same way). */
export interface VersionLister {
  state(sessionId: string): Promise<unknown>;
  readonly versions: { list(sessionId: string): Promise<readonly VersionRecord[]> };
}

/**
 * The versions of a session, oldest first, as plain rows (the manifest is binary and only the
 * sessions layer reads it).
 * @throws OrchestratorError `SESSION_NOT_FOUND`
 */
export async function versionRows(sessions: VersionLister, sessionId: string): Promise<VersionRow[]> {
  await sessions.state(sessionId);
  return (await sessions.versions.list(sessionId)).map(versionRow);
}

/** A version record without its manifest. */
export function versionRow(record: VersionRecord): VersionRow {
  const { manifest: _manifest, ...row } = record;
  return row;
}

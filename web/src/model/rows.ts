import type { SessionListRow } from '../api/types.ts';

/** Rows of the sessions list a page holds. */
export const PAGE_SIZE = 50;

/** The duration of a row: the server's, else from its first to its last event. */
export function durationOf(row: SessionListRow): number | undefined {
  if (typeof row.durationMs === 'number') return row.durationMs;
  const ms = Date.parse(row.updatedAt) - Date.parse(row.createdAt);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Applies live summaries to the rows of a page. */
export function mergeRows(
  rows: SessionListRow[],
  updates: SessionListRow[],
  filters: { status: string; workflow: string; q?: string; firstPage: boolean },
): SessionListRow[] {
  const index = new Map(rows.map((row, i) => [row.sessionId, i]));
  const next = [...rows];
  const added: SessionListRow[] = [];
  for (const update of updates) {
    const at = index.get(update.sessionId);
    if (at !== undefined) {
      next[at] = { ...next[at], ...update } as SessionListRow;
    } else if (
      filters.firstPage &&
      // Only a session newer than the page's newest is new: the stream starts with the newest
      // rows, some of which belong to later pages.
      (rows.length === 0 || update.createdAt > (rows[0]?.createdAt ?? '')) &&
      (filters.status === '' || update.status === filters.status) &&
      (filters.workflow === '' || update.workflow === filters.workflow) &&
      matchesSearch(update, filters.q ?? '') &&
      !added.some((a) => a.sessionId === update.sessionId)
    ) {
      added.unshift(update);
    }
  }
  return added.length > 0 ? [...added, ...next].slice(0, Math.max(PAGE_SIZE, rows.length)) : next;
}

/** The server's search rule (`rowMatches` of src/reports): the id or workflow name contains the text, ignoring case. */
export function matchesSearch(row: Pick<SessionListRow, 'sessionId' | 'workflow'>, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (needle === '') return true;
  return row.sessionId.toLowerCase().includes(needle) || (row.workflow ?? '').toLowerCase().includes(needle);
}

import type { SessionRow } from '../reports/index.ts';
import { formatAge } from '../sessions/index.ts';
import { formatTable, money } from './format.ts';

/**
 * The table of `sessions list`: one aligned row per session. The status says when a session
 * can be carried on (`interrupted (resumable)`, `paused (resumable)`) or who runs it; ages are
 * since the first event (AGE) and the latest (LAST EVENT).
 */
export function formatSessionList(sessions: readonly SessionRow[], now: number): string {
  const ago = (iso: string) => formatAge(Math.max(0, now - Date.parse(iso)));
  return formatTable(
    ['SESSION', 'STATUS', 'WORKFLOW', 'COST', 'EVENTS', 'AGE', 'LAST EVENT'],
    sessions.map((s) => [
      s.sessionId,
      statusText(s),
      s.workflow ?? '-',
      s.status === 'unreadable' ? '-' : `${money(s.costUsd ?? 0)}${s.simulated ? ' sim' : ''}`,
      String(s.lastSeq),
      ago(s.createdAt),
      ago(s.updatedAt),
    ]),
  );
}

function statusText(s: SessionRow): string {
  if (s.status === 'unreadable') return `unreadable (${s.unreadable ?? 'error'})`;
  if (s.resumable) return `${s.status} (resumable)`;
  return s.status ?? '-';
}

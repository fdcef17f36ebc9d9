import type { AnyEvent } from '../../src/events/index.ts';
import type { ReportSource } from '../../src/reports/index.ts';
import type { Lease, SessionSummary } from '../../src/store/index.ts';

/**
 * A {@link ReportSource} over sessions held in memory, listed newest first like the stores
 * (the last one given is the newest). A session whose events are an `Error` fails to read with
 * it, as a damaged row does.
 */
export function memorySource(
  sessions: ReadonlyArray<readonly [string, readonly AnyEvent[] | Error]>,
  leases: Record<string, Lease> = {},
): ReportSource {
  const byId = new Map(sessions);
  const summaries: SessionSummary[] = sessions
    .map(([sessionId, events]) => {
      const list = events instanceof Error ? [] : events;
      return {
        sessionId,
        lastSeq: events instanceof Error ? 1 : (list.at(-1)?.seq ?? 0),
        createdAt: list[0]?.ts ?? '2025-06-01T00:00:00.000Z',
        updatedAt: list.at(-1)?.ts ?? '2025-06-01T00:00:00.000Z',
      };
    })
    .reverse();
  return {
    storeName: 'the memory store',
    async lastSeq(sessionId) {
      const events = byId.get(sessionId);
      if (events === undefined) return 0;
      return events instanceof Error ? 1 : (events.at(-1)?.seq ?? 0);
    },
    async *readAll(sessionId) {
      const events = byId.get(sessionId) ?? [];
      if (events instanceof Error) throw events;
      yield* events;
    },
    async listSessions(options = {}) {
      const start = options.before === undefined ? 0 : summaries.findIndex((s) => s.sessionId === options.before) + 1;
      return summaries.slice(start, start + (options.limit ?? 100));
    },
    async getLease(sessionId) {
      return leases[sessionId];
    },
  };
}

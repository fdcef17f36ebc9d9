import { OrchestratorError } from '../errors/index.ts';
import { newPrefixedId, type PendingEvent, prepareEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';

/** Appended in batches of this many events on import and fork. */
const BATCH = 500;

/**
 * A new session whose log starts as a copy of another's up to `seq` (ids are new, times and
 * payloads kept), followed by a `session.forked` event naming its origin.
 */
export async function forkLog(
  log: EventLog,
  from: { sessionId: string; seq: number; version?: number | undefined },
  options: { as?: string; workspace?: string; by?: string | undefined } = {},
): Promise<string> {
  const sessionId = options.as ?? newPrefixedId('ses');
  const events: PendingEvent[] = [];
  for await (const event of log.readAll(from.sessionId)) {
    if (event.seq > from.seq) break;
    const copy = { ...event, id: undefined, causationId: event.id };
    if (event.type === 'session.created' && options.workspace)
      (copy as { data: unknown }).data = { ...event.data, workspace: options.workspace };
    events.push(prepareEvent(copy as never));
  }
  events.push(
    prepareEvent({
      type: 'session.forked',
      data: {
        fromSessionId: from.sessionId,
        fromSeq: from.seq,
        ...(from.version !== undefined && { fromVersion: from.version }),
        ...(options.workspace && { workspace: options.workspace }),
        ...(options.by !== undefined && { by: options.by }),
      },
    }),
  );
  await appendAll(log, sessionId, events);
  return sessionId;
}

/** Appends a new session's events in batches; refuses a session that exists. @throws OrchestratorError `SESSION_EXISTS` */
export async function appendAll(log: EventLog, sessionId: string, events: readonly PendingEvent[]): Promise<void> {
  if ((await log.lastSeq(sessionId)) > 0) {
    throw new OrchestratorError('SESSION_EXISTS', `session "${sessionId}" already exists; nothing was written`);
  }
  for (let start = 0; start < events.length; start += BATCH) {
    // expectedLastSeq makes a concurrent writer of the same id fail instead of interleaving.
    await log.store.append(sessionId, events.slice(start, start + BATCH), { expectedLastSeq: start });
  }
}

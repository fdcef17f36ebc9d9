import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { OrchestratorError } from '../errors/index.ts';
import { type AnyEvent, isEventType, newPrefixedId, type PendingEvent, prepareEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';

/** Format name and version written in the first line of an export. */
export const EXPORT_FORMAT = 'ai-orchestrator/session';
export const EXPORT_FORMAT_VERSION = 1;

const headerSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int().positive(),
  sessionId: z.string().min(1),
  events: z.number().int().nonnegative(),
  exportedAt: z.string(),
});

/** Appended in batches of this many events on import and fork. */
const BATCH = 500;

/**
 * Writes a session's whole log as JSON lines: a header line, then one event per line. The
 * file is store-neutral: an export from SQLite imports into PostgreSQL and back.
 */
export async function exportSession(log: EventLog, sessionId: string, file: string): Promise<number> {
  const events = await log.lastSeq(sessionId);
  if (events === 0) throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`);
  const out = createWriteStream(file);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write(
    JSON.stringify({
      format: EXPORT_FORMAT,
      formatVersion: EXPORT_FORMAT_VERSION,
      sessionId,
      events,
      exportedAt: new Date().toISOString(),
    }),
  );
  let written = 0;
  for await (const event of log.readAll(sessionId)) {
    if (event.seq > events) break;
    await write(JSON.stringify(event));
    written++;
  }
  out.end();
  await once(out, 'finish');
  return written;
}

/**
 * Reads an export and appends its events, with their original ids and times, as a new session
 * (the same id unless `as` is given; under another id the events get new ids). Everything is checked before the first append: the
 * format version, each event's schema, contiguous sequence numbers and the count in the
 * header; an existing session is never overwritten.
 * @throws OrchestratorError `IMPORT_INVALID` (with the line), `SESSION_EXISTS`
 */
export async function importSession(
  log: EventLog,
  file: string,
  options: { as?: string } = {},
): Promise<{ sessionId: string; events: number }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  const invalid = (line: number, why: string) =>
    new OrchestratorError('IMPORT_INVALID', `${file}:${line}: ${why}`, { details: { file, line } });
  let header: z.infer<typeof headerSchema> | undefined;
  const events: PendingEvent[] = [];
  let lineNo = 0;
  try {
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw invalid(lineNo, 'not JSON (the file is truncated or not an export)');
      }
      if (!header) {
        const parsed = headerSchema.safeParse(value);
        if (!parsed.success) throw invalid(lineNo, `not an ${EXPORT_FORMAT} export header`);
        if (parsed.data.formatVersion > EXPORT_FORMAT_VERSION) {
          throw invalid(
            lineNo,
            `export format ${parsed.data.formatVersion} is newer than this orchestrator reads (${EXPORT_FORMAT_VERSION})`,
          );
        }
        header = parsed.data;
        continue;
      }
      const event = value as AnyEvent;
      if (typeof event?.type !== 'string' || !isEventType(event.type))
        throw invalid(lineNo, `unknown event type ${JSON.stringify(event?.type)}`);
      if (event.seq !== events.length + 1)
        throw invalid(lineNo, `expected seq ${events.length + 1}, found ${event.seq}`);
      try {
        // Event ids are unique across a store: a copy under another session id gets new ones,
        // and keeps the original as its causation.
        const copy =
          options.as !== undefined && options.as !== event.sessionId
            ? { ...event, id: undefined, causationId: event.id }
            : event;
        events.push(prepareEvent(copy as never));
      } catch (error) {
        throw invalid(lineNo, error instanceof Error ? error.message : String(error));
      }
    }
  } finally {
    lines.close();
  }
  if (!header) throw invalid(0, 'the file is empty');
  if (events.length !== header.events)
    throw invalid(lineNo, `the header announces ${header.events} events, the file has ${events.length}`);
  const sessionId = options.as ?? header.sessionId;
  await appendAll(log, sessionId, events);
  return { sessionId, events: events.length };
}

/**
 * A new session whose log starts as a copy of another's up to `seq` (ids are new, times and
 * payloads kept), followed by a `session.forked` event naming its origin.
 */
export async function forkLog(
  log: EventLog,
  from: { sessionId: string; seq: number; version?: number | undefined },
  options: { as?: string; workspace?: string } = {},
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
      },
    }),
  );
  await appendAll(log, sessionId, events);
  return sessionId;
}

async function appendAll(log: EventLog, sessionId: string, events: readonly PendingEvent[]): Promise<void> {
  if ((await log.lastSeq(sessionId)) > 0) {
    throw new OrchestratorError('SESSION_EXISTS', `session "${sessionId}" already exists; nothing was written`);
  }
  for (let start = 0; start < events.length; start += BATCH) {
    // expectedLastSeq makes a concurrent writer of the same id fail instead of interleaving.
    await log.store.append(sessionId, events.slice(start, start + BATCH), { expectedLastSeq: start });
  }
}

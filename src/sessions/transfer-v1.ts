import type { z } from 'zod';
import type { PendingEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { appendAll } from './transfer.ts';
import { importedEvent } from './transfer-check.ts';
import { fileLines, headerV1Schema, type ImportResult, invalidImport } from './transfer-format.ts';

/**
 * Reads an export of format 1 (a header line, then one bare event per line: the log only) and
 * appends its events as a new session; nothing else of the session travels in that format.
 * Everything is checked before the first append: each event's schema, contiguous sequence
 * numbers and the count in the header.
 * @throws OrchestratorError `IMPORT_INVALID` (with the line), `SESSION_EXISTS`
 */
export async function importV1(
  log: EventLog,
  file: string,
  options: { as?: string | undefined },
): Promise<ImportResult> {
  let header: z.infer<typeof headerV1Schema> | undefined;
  const events: PendingEvent[] = [];
  let lastLine = 0;
  for await (const { line, text } of fileLines(file)) {
    lastLine = line;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidImport(file, line, 'not JSON (the file is truncated or not an export)');
    }
    if (!header) {
      const parsed = headerV1Schema.safeParse(value);
      if (!parsed.success) throw invalidImport(file, line, 'not an ai-orchestrator/session export header');
      header = parsed.data;
      continue;
    }
    const event = (value ?? {}) as Record<string, unknown>;
    events.push(importedEvent(file, line, event, header, events.length + 1, options.as ?? header.sessionId));
  }
  if (!header) throw invalidImport(file, 0, 'the file is empty');
  if (events.length !== header.events)
    throw invalidImport(file, lastLine, `the header announces ${header.events} events, the file has ${events.length}`);
  const sessionId = options.as ?? header.sessionId;
  await appendAll(log, sessionId, events);
  return {
    sessionId,
    formatVersion: 1,
    events: events.length,
    versions: 0,
    renumberedVersions: [],
    transcripts: 0,
    workspace: undefined,
    filesRestored: false,
  };
}

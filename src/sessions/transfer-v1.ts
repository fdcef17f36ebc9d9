import { createHash } from 'node:crypto';
import path from 'node:path';
import type { z } from 'zod';
import { type PendingEvent, prepareEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { checkSafeName, childPath } from '../security/index.ts';
import { checkImportedWorkspace, checkMcpCommands, ImportFindings, type ImportTrust } from './import-policy.ts';
import { appendAll } from './transfer.ts';
import { importedEvent } from './transfer-check.ts';
import { fileLines, firstIssue, headerV1Schema, type ImportResult, invalidImport } from './transfer-format.ts';

/**
 * Reads an export of format 1 (a header line, then one bare event per line: the log only) and
 * appends its events as a new session, then a `session.imported` event naming where it came
 * from; nothing else of the session travels in that format. Everything is checked before the
 * first append: each event's schema, contiguous sequence numbers, the count in the header,
 * and the operator's trust settings (the workspace the log records, MCP commands).
 * @throws OrchestratorError `IMPORT_INVALID` (with the line), `IMPORT_REFUSED`, `SESSION_EXISTS`
 */
export async function importV1(
  target: { readonly log: EventLog; readonly dataDir: string },
  file: string,
  options: { as?: string | undefined; by?: string | undefined } & ImportTrust,
): Promise<ImportResult> {
  let header: z.infer<typeof headerV1Schema> | undefined;
  const events: PendingEvent[] = [];
  const findings = new ImportFindings();
  const digest = createHash('sha256');
  let lastLine = 0;
  for await (const { line, text } of fileLines(file)) {
    lastLine = line;
    digest.update(`${text}\n`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalidImport(file, line, 'not JSON (the file is truncated or not an export)');
    }
    if (!header) {
      const parsed = headerV1Schema.safeParse(value);
      if (!parsed.success) {
        const { field, why } = firstIssue(parsed.error, 'header');
        throw invalidImport(file, line, `not an ai-orchestrator/session export header: ${why}`, field);
      }
      header = parsed.data;
      continue;
    }
    const event = (value ?? {}) as Record<string, unknown>;
    events.push(importedEvent(file, line, event, header, events.length + 1, options.as ?? header.sessionId));
    findings.observe(event);
  }
  if (!header) throw invalidImport(file, 0, 'the file is empty');
  if (events.length !== header.events)
    throw invalidImport(file, lastLine, `the header announces ${header.events} events, the file has ${events.length}`);
  const sessionId = checkSafeName(options.as ?? header.sessionId, options.as === undefined ? 'header.sessionId' : 'as');
  // The log's own workspace stays the session's: it must be one the operator allows.
  if (findings.workspace !== undefined) checkImportedWorkspace(file, findings.workspace, target.dataDir, options);
  checkMcpCommands(file, findings.mcpCommands, options);
  const workspace =
    findings.workspace ?? childPath(path.join(target.dataDir, 'workspaces'), [sessionId], ['sessionId']);
  const mcp = [...new Set(findings.mcpCommands)];
  events.push(
    prepareEvent({
      type: 'session.imported',
      data: {
        fromSessionId: header.sessionId,
        fromStore: 'unknown',
        exportedAt: header.exportedAt,
        formatVersion: 1,
        workspace,
        filesRestored: false,
        versions: 0,
        transcripts: 0,
        file: path.resolve(file),
        fileDigest: digest.digest('hex'),
        ...(mcp.length > 0 && { trustedMcpCommands: mcp }),
        ...(options.by !== undefined && { by: options.by }),
        ...(options.workspaceRoots?.length && { workspaceRoots: options.workspaceRoots.map((r) => path.resolve(r)) }),
      },
    }),
  );
  await appendAll(target.log, sessionId, events);
  return {
    sessionId,
    formatVersion: 1,
    events: events.length - 1,
    versions: 0,
    renumberedVersions: [],
    payloads: 0,
    transcripts: 0,
    workspace,
    filesRestored: false,
  };
}

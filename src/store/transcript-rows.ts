import { OrchestratorError } from '../errors/index.ts';
import { checkArray } from './arguments.ts';
import type { TranscriptEntry } from './transcript-store.ts';

/**
 * What both backends share about transcripts: entries checked and encoded the same way, and
 * decoded with the same refusal of a damaged row.
 */

/** An entry as stored: its JSON text, and its `uuid` when it has one (the idempotency key). */
export interface EncodedEntry {
  readonly uuid: string | null;
  readonly text: string;
}

/**
 * Checks entries (plain JSON objects with a string `type`) and encodes them.
 * @throws OrchestratorError `INVALID_ARGUMENT` naming the first bad entry.
 */
export function encodeEntries(entries: readonly TranscriptEntry[]): EncodedEntry[] {
  return checkArray(entries, 'entries').map((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw badEntry(i, 'must be an object');
    }
    const { type, uuid } = entry as Record<string, unknown>;
    if (typeof type !== 'string') throw badEntry(i, 'must have a string `type`');
    let text: string;
    try {
      text = JSON.stringify(entry);
    } catch (error) {
      throw badEntry(i, `is not JSON-safe (${error instanceof Error ? error.message : String(error)})`);
    }
    return { uuid: typeof uuid === 'string' ? uuid : null, text };
  });
}

function badEntry(index: number, why: string): OrchestratorError {
  return new OrchestratorError('INVALID_ARGUMENT', `entries[${index}] ${why}`, {
    details: { field: `entries[${index}]` },
  });
}

/** Decodes a stored entry. @throws OrchestratorError `STORE_CORRUPT` when the row is not an entry. */
export function decodeEntry(text: unknown, where: { projectKey: string; sessionId: string; subpath: string }) {
  try {
    const entry = JSON.parse(String(text)) as TranscriptEntry;
    if (entry !== null && typeof entry === 'object' && typeof entry.type === 'string') return entry;
  } catch {
    // Reported below.
  }
  const name = `${where.projectKey}/${where.sessionId}${where.subpath === '' ? '' : `/${where.subpath}`}`;
  throw new OrchestratorError('STORE_CORRUPT', `a stored entry of transcript ${name} is not a transcript entry`, {
    details: { ...where },
  });
}

/** The subpath as the caller sees it: `''` (stored for the main transcript) is no subpath. */
export function publicSubpath(subpath: string): string | undefined {
  return subpath === '' ? undefined : subpath;
}

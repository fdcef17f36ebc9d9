import { sha256Hex } from '../events/index.ts';
import type { PayloadBlob, PayloadStore } from '../store/index.ts';
import { type ExportRecord, invalidImport } from './transfer-format.ts';

/**
 * The payload blobs of a session in an export (format 3, `{t:'payload'}` lines): the full
 * values of event fields the log shortened. Exported only when they verify; checked line by
 * line on import (the hash must be the SHA-256 of the bytes; the store checks it again) and
 * stored in batches, not all held in memory: each can be megabytes.
 */

/** Bytes of payloads stored in one call on import. */
const IMPORT_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * The hashes of the session's payloads whose stored bytes match them. One that does not (changed
 * behind the store's back) is left out, as a version that fails verification is: the agent's
 * transcript, exported too, still has the value.
 */
export async function exportablePayloads(
  store: Pick<PayloadStore, 'listPayloads' | 'getPayload'> | undefined,
  sessionId: string,
): Promise<{ hashes: string[]; skipped: string[] }> {
  const hashes: string[] = [];
  const skipped: string[] = [];
  for (const hash of (await store?.listPayloads(sessionId)) ?? []) {
    const bytes = await store?.getPayload(sessionId, hash);
    if (bytes !== undefined && sha256Hex(bytes) === hash) hashes.push(hash);
    else skipped.push(hash);
  }
  return { hashes, skipped };
}

/** The payload lines of an export, read one at a time (verified when listed, checked again here). */
export async function* payloadRecords(
  store: Pick<PayloadStore, 'getPayload'> | undefined,
  sessionId: string,
  hashes: readonly string[],
): AsyncGenerator<ExportRecord> {
  for (const hash of hashes) {
    const bytes = await store?.getPayload(sessionId, hash);
    // Listed a moment ago; references go only with the session.
    if (bytes === undefined || sha256Hex(bytes) !== hash) throw new Error(`payload ${hash} changed during the export`);
    yield { t: 'payload', hash, bytes: Buffer.from(bytes).toString('base64') };
  }
}

/** Checks one payload line of an import: its bytes match its hash, and it appears once. @throws OrchestratorError `IMPORT_INVALID` */
export function checkPayloadLine(
  file: string,
  line: number,
  record: { readonly hash: string; readonly bytes: string },
  seen: Set<string>,
): void {
  if (seen.has(record.hash)) throw invalidImport(file, line, `payload ${record.hash} appears twice`, 'hash');
  const actual = sha256Hex(Buffer.from(record.bytes, 'base64'));
  if (actual !== record.hash)
    throw invalidImport(file, line, `the payload's bytes do not match its hash (their SHA-256 is ${actual})`, 'hash');
  seen.add(record.hash);
}

/** Stores an import's payloads for its session in batches; {@link flush} stores what is left. */
export class PayloadImport {
  readonly #store: Pick<PayloadStore, 'putPayloads'>;
  readonly #sessionId: string;
  #batch: PayloadBlob[] = [];
  #bytes = 0;
  /** Payloads stored so far. */
  stored = 0;

  constructor(store: Pick<PayloadStore, 'putPayloads'>, sessionId: string) {
    this.#store = store;
    this.#sessionId = sessionId;
  }

  async add(record: { readonly hash: string; readonly bytes: string }): Promise<void> {
    const bytes = new Uint8Array(Buffer.from(record.bytes, 'base64'));
    this.#batch.push({ hash: record.hash, bytes });
    this.#bytes += bytes.byteLength;
    if (this.#bytes >= IMPORT_BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#bytes = 0;
    await this.#store.putPayloads(this.#sessionId, batch);
    this.stored += batch.length;
  }
}

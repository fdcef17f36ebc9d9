import { OrchestratorError } from '../errors/index.ts';
import { sha256Hex } from '../events/index.ts';
import type { PayloadStore } from '../store/index.ts';

/** The full value of a field the log shortened, read back by its digest. */
export interface StoredPayload {
  readonly sessionId: string;
  /** SHA-256 (hex) of `text`, as the event's `truncated` entry names it. */
  readonly sha256: string;
  /** Bytes of `text` in UTF-8. */
  readonly bytes: number;
  /** The field's full JSON text (for a string field, the string itself), redacted as the event was. */
  readonly text: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Reads a payload blob the session references and verifies it against its digest: a blob
 * changed behind the store's back is refused, not returned as the value.
 * @throws OrchestratorError `INVALID_ARGUMENT` (not a SHA-256), `PAYLOAD_NOT_FOUND`, `PAYLOAD_CORRUPT`
 */
export async function readPayload(
  store: PayloadStore | undefined,
  sessionId: string,
  sha256: string,
): Promise<StoredPayload> {
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new OrchestratorError('INVALID_ARGUMENT', 'a payload is named by its SHA-256: 64 lowercase hex digits', {
      details: { field: 'sha256' },
    });
  }
  const bytes = store ? await store.getPayload(sessionId, sha256) : undefined;
  if (bytes === undefined) {
    throw new OrchestratorError(
      'PAYLOAD_NOT_FOUND',
      `session "${sessionId}" has no stored payload ${sha256} (a value over maxEventBytes is not stored: see the agent's transcript)`,
      { details: { sessionId, sha256 } },
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new OrchestratorError(
      'PAYLOAD_CORRUPT',
      `payload ${sha256} of session "${sessionId}" does not match its SHA-256 (${actual}); the agent's transcript still has the value`,
      { details: { sessionId, sha256, actual } },
    );
  }
  return { sessionId, sha256, bytes: bytes.byteLength, text: Buffer.from(bytes).toString('utf8') };
}

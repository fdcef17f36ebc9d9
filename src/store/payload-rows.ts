import { OrchestratorError } from '../errors/index.ts';
import { sha256Hex } from '../events/index.ts';
import { checkArray, checkHash } from './arguments.ts';
import type { PayloadBlob } from './payload-store.ts';

/** What both backends share about payload blobs: the checks of their arguments. */

/**
 * Validates payload blobs, verifies that each hash is the SHA-256 of its bytes, and keeps the
 * first of each hash. Verified here, not trusted: the hash is what reads are checked against.
 * @throws OrchestratorError `INVALID_ARGUMENT`
 */
export function checkPayloads(payloads: readonly PayloadBlob[]): PayloadBlob[] {
  const unique = new Map<string, PayloadBlob>();
  for (const [i, payload] of checkArray(payloads, 'payloads').entries()) {
    const { hash, bytes } = (payload ?? {}) as Partial<PayloadBlob>;
    checkHash(hash, `payloads[${i}].hash`);
    if (!(bytes instanceof Uint8Array)) {
      throw new OrchestratorError('INVALID_ARGUMENT', `payloads[${i}].bytes must be a Uint8Array`, {
        details: { field: `payloads[${i}].bytes` },
      });
    }
    const actual = sha256Hex(bytes);
    if (actual !== hash) {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        `payloads[${i}]: hash ${hash} is not the SHA-256 of its bytes (${actual})`,
        { details: { field: `payloads[${i}].hash`, expected: hash, actual } },
      );
    }
    if (!unique.has(hash as string)) unique.set(hash as string, { hash: hash as string, bytes });
  }
  return [...unique.values()].sort((a, b) => (a.hash < b.hash ? -1 : 1));
}

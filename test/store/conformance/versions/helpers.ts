import { createHash, randomBytes } from 'node:crypto';
import type { Blob, NewVersion } from '../../../../src/store/index.ts';

/** A content-addressed blob of `content` (text, or bytes as they are). */
export function blob(content: string | Uint8Array): Blob {
  const bytes = typeof content === 'string' ? new Uint8Array(Buffer.from(content, 'utf8')) : content;
  return { hash: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** `count` blobs with contents no other test uses. */
export function freshBlobs(count: number, size = 64): Blob[] {
  return Array.from({ length: count }, () => blob(new Uint8Array(randomBytes(size))));
}

/** A version to store naming `blobs`, with plausible values in every other field. */
export function newVersion(sessionId: string, blobs: readonly Blob[], overrides: Partial<NewVersion> = {}): NewVersion {
  const hashes = blobs.map((b) => b.hash);
  return {
    sessionId,
    seq: 10,
    label: null,
    createdAt: new Date().toISOString(),
    schemaVersion: 1,
    checksum: createHash('sha256').update(hashes.join(',')).digest('hex'),
    manifest: new Uint8Array(Buffer.from(JSON.stringify(hashes.map((h, i) => [`chunk/${i}`, h])))),
    workspaceCommit: null,
    newBytes: blobs.reduce((sum, b) => sum + b.bytes.byteLength, 0),
    blobHashes: hashes,
    ...overrides,
  };
}

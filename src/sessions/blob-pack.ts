import { sha256Hex } from '../events/index.ts';

/** How chunk and page texts are stored: a format byte, then the text, deflated when long. */

/**
 * Texts shorter than this are stored as they are: a zlib call costs about 20 us whatever the
 * size, which for the thousands of small chunks of a large state (a node each, before nodes
 * shared chunks) was most of the time of a version, for a few bytes saved each.
 */
const COMPRESS_FROM_BYTES = 512;
const RAW = 0;
const DEFLATE = 1;

/** The bytes stored for a chunk or page text: a format byte, then the text, deflated when long. */
export function pack(text: string): Uint8Array {
  const size = Buffer.byteLength(text, 'utf8');
  if (size < COMPRESS_FROM_BYTES) {
    // Exactly sized, one allocation: the blob may wait in memory until a version stores it.
    const raw = Buffer.allocUnsafe(1 + size);
    raw[0] = RAW;
    raw.write(text, 1, 'utf8');
    return raw;
  }
  // Level 1: 3-4 times faster than the default on a large definition, about 1% bigger.
  const { deflateRawSync } = process.getBuiltinModule('node:zlib');
  return Buffer.concat([Buffer.of(DEFLATE), deflateRawSync(Buffer.from(text, 'utf8'), { level: 1 })]);
}

/** The text of stored bytes. @throws when the format byte is unknown or the data does not inflate */
export function unpack(bytes: Uint8Array): string {
  const format = bytes[0];
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1);
  if (format === RAW) return body.toString('utf8');
  if (format === DEFLATE) return process.getBuiltinModule('node:zlib').inflateRawSync(body).toString('utf8');
  throw new Error(`unknown blob format ${format}`);
}

/**
 * The verified text of a stored blob (`what` names it in errors: `chunk`, `page`).
 * @throws Error when the blob is missing, does not decompress, or does not match its hash
 */
export function openBlob(what: string, hash: string, bytes: Uint8Array | undefined): string {
  const name = `${what} ${hash.slice(0, 12)}`;
  if (!bytes) throw new Error(`${name} is missing`);
  let text: string;
  try {
    text = unpack(bytes);
  } catch {
    throw new Error(`${name} cannot be decompressed`);
  }
  if (sha256Hex(text) !== hash) throw new Error(`${name} does not match its hash`);
  return text;
}

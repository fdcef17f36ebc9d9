import type { IncomingMessage, ServerResponse } from 'node:http';
import { newPrefixedId } from '../events/index.ts';
import type { FaultKind } from './retry.ts';

/** What the gateway answers by itself (refusals, faults) and how it reads a request body. */

/** Largest request body accepted (Claude Code's largest, with images, stay far below). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** The status a fault is answered with: a gateway timeout for timeouts, else a bad gateway. */
export function faultStatus(kind: FaultKind): number {
  return kind === 'first_byte_timeout' || kind === 'idle_timeout' ? 504 : 502;
}

/** An Anthropic-style error answer that Claude Code does not retry. */
export function reject(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ type: 'error', error: { type, message }, request_id: newPrefixedId('req') });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-should-retry': 'false',
  });
  res.end(text);
}

/**
 * The whole body of a request, or undefined when it is larger than {@link MAX_BODY_BYTES}
 * (the rest is drained). One chunk (most bodies on loopback) is taken as it is, not copied.
 */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

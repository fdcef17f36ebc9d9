import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `X-Orchestrator-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `<t>.<body>` with the webhook's secret. The timestamp is signed with the body, so a receiver
 * that refuses old timestamps (5 minutes by default) refuses a replayed delivery too.
 */

/** The signature header of a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * What a receiver checks: the signature matches the body and the secret, and its timestamp is
 * within `toleranceSeconds` of `now` (unix seconds). Compared in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  if (header === undefined) return false;
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  const given = parts.v1;
  if (!Number.isInteger(timestamp) || typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = signWebhook(secret, timestamp, body).split('v1=')[1] as string;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

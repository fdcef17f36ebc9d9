import { OrchestratorError } from '../errors/index.ts';
import { checkKeys, checkSessionId, integer, invalid } from './arguments.ts';
import { checkIsoTime } from './registry-rows.ts';
import type { DeliveryOutcome, DeliveryRecord, DeliveryStatus, NewDelivery, WebhookRecord } from './webhook-store.ts';

/** Argument checks and row shapes of the webhook store, shared by both backends. */

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed', 'cancelled'];

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID.test(value))
    throw invalid(field, 'an id (1 to 64 letters, digits, _ or -)', value);
  return value;
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(field, `a string of 1 to ${max} characters`, value);
  }
  return value;
}

/** @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkWebhookId(value: unknown, field = 'webhookId'): string {
  return id(value, field);
}

/** Checks a webhook to store. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkNewWebhook(webhook: Omit<WebhookRecord, 'disabledAt'>): Omit<WebhookRecord, 'disabledAt'> {
  if (webhook === null || typeof webhook !== 'object') throw invalid('webhook', 'an object', webhook);
  checkKeys(webhook, 'webhook', ['webhookId', 'url', 'types', 'secret', 'createdAt', 'createdBy']);
  const url = text(webhook.url, 'webhook.url', 2000);
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw invalid('webhook.url', 'an http:// or https:// URL', url);
  const types = webhook.types as unknown;
  if (!Array.isArray(types) || types.length === 0 || types.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw invalid('webhook.types', 'a non-empty array of event types or globs', types);
  }
  return {
    webhookId: id(webhook.webhookId, 'webhook.webhookId'),
    url,
    types: [...new Set(types as string[])],
    secret: text(webhook.secret, 'webhook.secret', 500),
    createdAt: checkIsoTime(webhook.createdAt, 'webhook.createdAt'),
    createdBy: text(webhook.createdBy, 'webhook.createdBy', 200),
  };
}

/** The error for a second webhook with the same id. */
export function webhookExists(webhookId: string): OrchestratorError {
  return new OrchestratorError('INVALID_ARGUMENT', `a webhook with id "${webhookId}" is already stored`, {
    details: { field: 'webhook.webhookId', webhookId },
  });
}

/** Checks deliveries to enqueue for one session. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkDeliveries(sessionId: string, uptoSeq: number, deliveries: readonly NewDelivery[]): void {
  checkSessionId(sessionId);
  integer(uptoSeq, 'uptoSeq', 0);
  if (!Array.isArray(deliveries)) throw invalid('deliveries', 'an array', deliveries);
  deliveries.forEach((d, i) => {
    id(d.deliveryId, `deliveries[${i}].deliveryId`);
    id(d.webhookId, `deliveries[${i}].webhookId`);
    text(d.eventId, `deliveries[${i}].eventId`, 200);
    if (d.sessionId !== sessionId) throw invalid(`deliveries[${i}].sessionId`, `"${sessionId}"`, d.sessionId);
    integer(d.seq, `deliveries[${i}].seq`, 1, uptoSeq);
    text(d.eventType, `deliveries[${i}].eventType`, 200);
    if (typeof d.payload !== 'string') throw invalid(`deliveries[${i}].payload`, 'JSON text', d.payload);
    checkIsoTime(d.createdAt, `deliveries[${i}].createdAt`);
  });
}

/** Checks an attempt's outcome. @throws OrchestratorError `INVALID_ARGUMENT` */
export function checkOutcome(deliveryId: string, outcome: DeliveryOutcome): void {
  id(deliveryId, 'deliveryId');
  if (!STATUSES.includes(outcome.status)) throw invalid('outcome.status', STATUSES.join(', '), outcome.status);
  integer(outcome.attempts, 'outcome.attempts', 0);
  checkIsoTime(outcome.nextAttemptAt, 'outcome.nextAttemptAt');
  if (outcome.deliveredAt !== null) checkIsoTime(outcome.deliveredAt, 'outcome.deliveredAt');
}

/** Checks a status filter. */
export function checkStatus(value: unknown): DeliveryStatus | undefined {
  if (value === undefined) return undefined;
  if (!STATUSES.includes(value as DeliveryStatus)) throw invalid('options.status', STATUSES.join(', '), value);
  return value as DeliveryStatus;
}

/** The columns of a webhook row. */
export const WEBHOOK_COLUMNS = 'webhook_id, url, types, secret, created_at, created_by, disabled_at';
/** The columns of a delivery row. */
export const DELIVERY_COLUMNS =
  'delivery_id, webhook_id, event_id, session_id, seq, event_type, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at';

/** A webhook row as both backends read it. */
export interface WebhookRow {
  webhook_id: string;
  url: string;
  types: string;
  secret: string;
  created_at: string;
  created_by: string;
  disabled_at: string | null;
}

/** A delivery row as both backends read it. */
export interface DeliveryRow {
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  session_id: string;
  seq: number | string;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export function webhookOfRow(row: WebhookRow): WebhookRecord {
  return {
    webhookId: row.webhook_id,
    url: row.url,
    types: JSON.parse(row.types) as string[],
    secret: row.secret,
    createdAt: row.created_at,
    createdBy: row.created_by,
    disabledAt: row.disabled_at,
  };
}

export function deliveryOfRow(row: DeliveryRow): DeliveryRecord {
  return {
    deliveryId: row.delivery_id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    sessionId: row.session_id,
    seq: Number(row.seq),
    eventType: row.event_type,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

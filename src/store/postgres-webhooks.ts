import { integer } from './arguments.ts';
import { inTransaction, type PostgresAccess, queryRows } from './postgres-pool.ts';
import { checkIsoTime } from './registry-rows.ts';
import {
  checkDeliveries,
  checkNewWebhook,
  checkOutcome,
  checkStatus,
  checkWebhookId,
  DELIVERY_COLUMNS,
  type DeliveryRow,
  deliveryOfRow,
  WEBHOOK_COLUMNS,
  type WebhookRow,
  webhookExists,
  webhookOfRow,
} from './webhook-rows.ts';
import type {
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryStatus,
  NewDelivery,
  WebhookRecord,
  WebhookStore,
} from './webhook-store.ts';

function statements(schema: string) {
  const webhooks = `${schema}.webhooks`;
  const deliveries = `${schema}.webhook_deliveries`;
  const cursors = `${schema}.webhook_cursors`;
  return {
    getWebhook: `SELECT ${WEBHOOK_COLUMNS} FROM ${webhooks} WHERE webhook_id = $1`,
    listWebhooks: `SELECT ${WEBHOOK_COLUMNS} FROM ${webhooks} ORDER BY created_at, webhook_id`,
    insertWebhook: `INSERT INTO ${webhooks} (${WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)
      ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id`,
    disableWebhook: `UPDATE ${webhooks} SET disabled_at = coalesce(disabled_at, $2) WHERE webhook_id = $1
      RETURNING ${WEBHOOK_COLUMNS}`,
    cancelPending: `UPDATE ${deliveries} SET status = 'cancelled', claimed_until = NULL
      WHERE webhook_id = $1 AND status = 'pending'`,
    cursors: `SELECT session_id, seq FROM ${cursors}`,
    moveCursor: `INSERT INTO ${cursors} AS c (session_id, seq) VALUES ($1, $2)
      ON CONFLICT (session_id) DO UPDATE SET seq = greatest(c.seq, excluded.seq)`,
    insertDeliveries: `INSERT INTO ${deliveries}
      (delivery_id, webhook_id, event_id, session_id, seq, event_type, payload, status, attempts, next_attempt_at, created_at)
      SELECT d, w, e, $4, s, t, p, 'pending', 0, c, c
      FROM unnest($1::text[], $2::text[], $3::text[], $5::int8[], $6::text[], $7::text[], $8::text[]) AS x(d, w, e, s, t, p, c)
      ON CONFLICT (webhook_id, event_id) DO NOTHING`,
    // SKIP LOCKED: processes claiming at once take different deliveries instead of waiting.
    claim: `UPDATE ${deliveries} SET claimed_until = $2 WHERE delivery_id IN (
        SELECT delivery_id FROM ${deliveries}
        WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
        ORDER BY next_attempt_at, delivery_id LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING ${DELIVERY_COLUMNS}`,
    record: `UPDATE ${deliveries} SET status = $2, attempts = $3, next_attempt_at = $4, last_status = $5,
      last_error = $6, delivered_at = $7, claimed_until = NULL WHERE delivery_id = $1`,
    deliveries: `SELECT ${DELIVERY_COLUMNS} FROM ${deliveries} WHERE webhook_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY created_at DESC, seq DESC LIMIT $3`,
  };
}

/** The {@link WebhookStore} of the PostgreSQL store, on its shared pool. */
export class PostgresWebhooks implements WebhookStore {
  readonly #access: PostgresAccess;
  readonly #sql: ReturnType<typeof statements>;

  constructor(access: PostgresAccess) {
    this.#access = access;
    this.#sql = statements(access.schema);
  }

  async createWebhook(webhook: Omit<WebhookRecord, 'disabledAt'>): Promise<WebhookRecord> {
    const w = checkNewWebhook(webhook);
    const inserted = await queryRows(this.#access, 'createWebhook', {
      text: this.#sql.insertWebhook,
      values: [w.webhookId, w.url, JSON.stringify(w.types), w.secret, w.createdAt, w.createdBy],
    });
    if (inserted.length === 0) throw webhookExists(w.webhookId);
    return { ...w, disabledAt: null };
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    return (await queryRows<WebhookRow>(this.#access, 'listWebhooks', { text: this.#sql.listWebhooks })).map(
      webhookOfRow,
    );
  }

  async disableWebhook(webhookId: string, at: string): Promise<WebhookRecord | undefined> {
    checkWebhookId(webhookId);
    checkIsoTime(at, 'at');
    return inTransaction(this.#access, 'disableWebhook', async (client) => {
      const [row] = (await client.query<WebhookRow>({ text: this.#sql.disableWebhook, values: [webhookId, at] })).rows;
      await client.query({ text: this.#sql.cancelPending, values: [webhookId] });
      return row === undefined ? undefined : webhookOfRow(row);
    });
  }

  async webhookCursors(): Promise<Map<string, number>> {
    const rows = await queryRows<{ session_id: string; seq: number | string }>(this.#access, 'webhookCursors', {
      text: this.#sql.cursors,
    });
    return new Map(rows.map((row) => [row.session_id, Number(row.seq)]));
  }

  async enqueueDeliveries(sessionId: string, uptoSeq: number, deliveries: readonly NewDelivery[]): Promise<number> {
    checkDeliveries(sessionId, uptoSeq, deliveries);
    return inTransaction(this.#access, 'enqueueDeliveries', async (client) => {
      let added = 0;
      if (deliveries.length > 0) {
        const result = await client.query({
          text: this.#sql.insertDeliveries,
          values: [
            deliveries.map((d) => d.deliveryId),
            deliveries.map((d) => d.webhookId),
            deliveries.map((d) => d.eventId),
            sessionId,
            deliveries.map((d) => d.seq),
            deliveries.map((d) => d.eventType),
            deliveries.map((d) => d.payload),
            deliveries.map((d) => d.createdAt),
          ],
        });
        added = result.rowCount ?? 0;
      }
      await client.query({ text: this.#sql.moveCursor, values: [sessionId, uptoSeq] });
      return added;
    });
  }

  async claimDeliveries(now: string, claimUntil: string, limit: number): Promise<DeliveryRecord[]> {
    checkIsoTime(now, 'now');
    checkIsoTime(claimUntil, 'claimUntil');
    integer(limit, 'limit', 1, 1000);
    const rows = await queryRows<DeliveryRow>(this.#access, 'claimDeliveries', {
      text: this.#sql.claim,
      values: [now, claimUntil, limit],
    });
    return rows.map(deliveryOfRow).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
  }

  async recordDelivery(deliveryId: string, outcome: DeliveryOutcome): Promise<void> {
    checkOutcome(deliveryId, outcome);
    await queryRows(this.#access, 'recordDelivery', {
      text: this.#sql.record,
      values: [
        deliveryId,
        outcome.status,
        outcome.attempts,
        outcome.nextAttemptAt,
        outcome.lastStatus,
        outcome.lastError,
        outcome.deliveredAt,
      ],
    });
  }

  async listDeliveries(
    webhookId: string,
    options: { status?: DeliveryStatus | undefined; limit?: number | undefined } = {},
  ): Promise<DeliveryRecord[]> {
    checkWebhookId(webhookId);
    const status = checkStatus(options.status);
    const limit = integer(options.limit ?? 100, 'options.limit', 1, 1000);
    const rows = await queryRows<DeliveryRow>(this.#access, 'listDeliveries', {
      text: this.#sql.deliveries,
      values: [webhookId, status ?? null, limit],
    });
    return rows.map(deliveryOfRow);
  }
}

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { integer } from './arguments.ts';
import { checkIsoTime } from './registry-rows.ts';
import { sqliteRead, sqliteWrite } from './sqlite-errors.ts';
import { prepareStatements } from './sqlite-statements.ts';
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

const STATEMENTS = {
  getWebhook: `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = ?`,
  listWebhooks: `SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, webhook_id`,
  insertWebhook: `INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
  disableWebhook: 'UPDATE webhooks SET disabled_at = coalesce(disabled_at, ?) WHERE webhook_id = ?',
  cancelPending: `UPDATE webhook_deliveries SET status = 'cancelled', claimed_until = NULL
    WHERE webhook_id = ? AND status = 'pending'`,
  cursors: 'SELECT session_id, seq FROM webhook_cursors',
  moveCursor: `INSERT INTO webhook_cursors (session_id, seq) VALUES (?, ?)
    ON CONFLICT (session_id) DO UPDATE SET seq = max(seq, excluded.seq)`,
  insertDelivery: `INSERT INTO webhook_deliveries
    (delivery_id, webhook_id, event_id, session_id, seq, event_type, payload, status, attempts, next_attempt_at, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (webhook_id, event_id) DO NOTHING`,
  due: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
    ORDER BY next_attempt_at, delivery_id LIMIT ?`,
  claim: 'UPDATE webhook_deliveries SET claimed_until = ? WHERE delivery_id = ?',
  record: `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status = ?,
    last_error = ?, delivered_at = ?, claimed_until = NULL WHERE delivery_id = ?`,
  deliveries: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?
    ORDER BY created_at DESC, seq DESC LIMIT ?`,
  deliveriesWith: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? AND status = ?
    ORDER BY created_at DESC, seq DESC LIMIT ?`,
} as const;

/**
 * The {@link WebhookStore} of the SQLite store, on its connection. Enqueueing and claiming run
 * in `BEGIN IMMEDIATE`, the file's write lock, so no other process's claim comes between a
 * claim's read and its update.
 */
export class SqliteWebhooks implements WebhookStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #sql: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#sql = prepareStatements(db, STATEMENTS);
  }

  async createWebhook(webhook: Omit<WebhookRecord, 'disabledAt'>): Promise<WebhookRecord> {
    const w = checkNewWebhook(webhook);
    return sqliteWrite(this.#db, this.#path, 'createWebhook', () => {
      if (this.#sql.getWebhook.get(w.webhookId) !== undefined) throw webhookExists(w.webhookId);
      this.#sql.insertWebhook.run(w.webhookId, w.url, JSON.stringify(w.types), w.secret, w.createdAt, w.createdBy);
      return { ...w, disabledAt: null };
    });
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    const rows = sqliteRead(this.#path, 'listWebhooks', () => this.#sql.listWebhooks.all() as unknown as WebhookRow[]);
    return rows.map(webhookOfRow);
  }

  async disableWebhook(webhookId: string, at: string): Promise<WebhookRecord | undefined> {
    checkWebhookId(webhookId);
    checkIsoTime(at, 'at');
    return sqliteWrite(this.#db, this.#path, 'disableWebhook', () => {
      this.#sql.disableWebhook.run(at, webhookId);
      this.#sql.cancelPending.run(webhookId);
      const row = this.#sql.getWebhook.get(webhookId) as WebhookRow | undefined;
      return row === undefined ? undefined : webhookOfRow(row);
    });
  }

  async webhookCursors(): Promise<Map<string, number>> {
    const rows = sqliteRead(this.#path, 'webhookCursors', () => this.#sql.cursors.all()) as Array<{
      session_id: string;
      seq: number;
    }>;
    return new Map(rows.map((row) => [row.session_id, row.seq]));
  }

  async enqueueDeliveries(sessionId: string, uptoSeq: number, deliveries: readonly NewDelivery[]): Promise<number> {
    checkDeliveries(sessionId, uptoSeq, deliveries);
    return sqliteWrite(this.#db, this.#path, 'enqueueDeliveries', () => {
      let added = 0;
      for (const d of deliveries) {
        const { changes } = this.#sql.insertDelivery.run(
          d.deliveryId,
          d.webhookId,
          d.eventId,
          d.sessionId,
          d.seq,
          d.eventType,
          d.payload,
          d.createdAt,
          d.createdAt,
        );
        added += Number(changes);
      }
      this.#sql.moveCursor.run(sessionId, uptoSeq);
      return added;
    });
  }

  async claimDeliveries(now: string, claimUntil: string, limit: number): Promise<DeliveryRecord[]> {
    checkIsoTime(now, 'now');
    checkIsoTime(claimUntil, 'claimUntil');
    integer(limit, 'limit', 1, 1000);
    return sqliteWrite(this.#db, this.#path, 'claimDeliveries', () => {
      const rows = this.#sql.due.all(now, now, limit) as unknown as DeliveryRow[];
      for (const row of rows) this.#sql.claim.run(claimUntil, row.delivery_id);
      return rows.map(deliveryOfRow);
    });
  }

  async recordDelivery(deliveryId: string, outcome: DeliveryOutcome): Promise<void> {
    checkOutcome(deliveryId, outcome);
    sqliteWrite(this.#db, this.#path, 'recordDelivery', () =>
      this.#sql.record.run(
        outcome.status,
        outcome.attempts,
        outcome.nextAttemptAt,
        outcome.lastStatus,
        outcome.lastError,
        outcome.deliveredAt,
        deliveryId,
      ),
    );
  }

  async listDeliveries(
    webhookId: string,
    options: { status?: DeliveryStatus | undefined; limit?: number | undefined } = {},
  ): Promise<DeliveryRecord[]> {
    checkWebhookId(webhookId);
    const status = checkStatus(options.status);
    const limit = integer(options.limit ?? 100, 'options.limit', 1, 1000);
    const rows = sqliteRead(this.#path, 'listDeliveries', () =>
      status === undefined
        ? this.#sql.deliveries.all(webhookId, limit)
        : this.#sql.deliveriesWith.all(webhookId, status, limit),
    ) as unknown as DeliveryRow[];
    return rows.map(deliveryOfRow);
  }
}

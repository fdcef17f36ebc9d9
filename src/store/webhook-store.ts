/** A registered webhook: where to post which events, and the secret deliveries are signed with. */
export interface WebhookRecord {
  readonly webhookId: string;
  /** `http://` or `https://` URL the deliveries are posted to. */
  readonly url: string;
  /** Event types or globs (`workflow.*`) it receives. */
  readonly types: readonly string[];
  /** The HMAC key of its signatures (the receiver holds it too; not a credential of ours). */
  readonly secret: string;
  readonly createdAt: string;
  /** Who registered it (`api:<key id>:<name>`). */
  readonly createdBy: string;
  /** When it was removed; its pending deliveries were cancelled then. */
  readonly disabledAt: string | null;
}

/** What becomes of a delivery. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

/** One event to post to one webhook, as enqueued. */
export interface NewDelivery {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly sessionId: string;
  readonly seq: number;
  readonly eventType: string;
  /** The body to post (JSON text). */
  readonly payload: string;
  readonly createdAt: string;
}

/** A delivery as stored, with its attempts so far. */
export interface DeliveryRecord extends NewDelivery {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** When it may be tried next (pending), or when it was last tried. */
  readonly nextAttemptAt: string;
  /** The HTTP status of the last attempt, or null (no answer: a network error or a timeout). */
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

/** The outcome of an attempt, recorded by {@link WebhookStore.recordDelivery}. */
export interface DeliveryOutcome {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

/**
 * Webhooks and their durable outbox. Events are enqueued per session up to a cursor, in one
 * transaction with the cursor's move, so after a restart enqueueing carries on where it stopped:
 * nothing is skipped, and an event is enqueued once per webhook (a second enqueue of it is a
 * no-op). Deliveries are claimed before they are sent, so several processes sharing the store
 * never send one twice at once; a claim lapses (a process that died while sending) and the
 * delivery is tried again. Left out: sending (the server's outbox does), and deleting history.
 */
export interface WebhookStore {
  /** @throws OrchestratorError `INVALID_ARGUMENT` (a bad field, an id already stored) */
  createWebhook(webhook: Omit<WebhookRecord, 'disabledAt'>): Promise<WebhookRecord>;
  /** Every webhook, removed ones included, oldest first. */
  listWebhooks(): Promise<WebhookRecord[]>;
  /** Removes a webhook (kept, marked) and cancels its pending deliveries; undefined for an unknown id. */
  disableWebhook(webhookId: string, at: string): Promise<WebhookRecord | undefined>;
  /** How far each session's events were enqueued (sessions never looked at are absent). */
  webhookCursors(): Promise<Map<string, number>>;
  /**
   * Enqueues deliveries of a session's events and moves its cursor to `uptoSeq` (never back),
   * in one transaction. @returns how many deliveries were new
   */
  enqueueDeliveries(sessionId: string, uptoSeq: number, deliveries: readonly NewDelivery[]): Promise<number>;
  /**
   * Claims up to `limit` pending deliveries due at `now` (unclaimed, or whose claim lapsed),
   * oldest due first, until `claimUntil`.
   */
  claimDeliveries(now: string, claimUntil: string, limit: number): Promise<DeliveryRecord[]>;
  /** Records an attempt's outcome and drops the claim. */
  recordDelivery(deliveryId: string, outcome: DeliveryOutcome): Promise<void>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(
    webhookId: string,
    options?: { status?: DeliveryStatus | undefined; limit?: number | undefined },
  ): Promise<DeliveryRecord[]>;
}

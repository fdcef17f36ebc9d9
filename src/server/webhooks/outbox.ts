import { randomBytes } from 'node:crypto';
import { type AnyEvent, type CompiledFilter, compileFilter } from '../../events/index.ts';
import type { Logger } from '../../logging/index.ts';
import type {
  DeliveryOutcome,
  DeliveryRecord,
  NewDelivery,
  SessionSummary,
  WebhookRecord,
  WebhookStore,
} from '../../store/index.ts';
import { eventJson } from '../streams/pump.ts';
import { signWebhook } from './signing.ts';

/** What the outbox reads: the sessions of the store and their events. */
export interface OutboxSource {
  listSessions(options: { limit: number; before?: string }): Promise<SessionSummary[]>;
  readAll(sessionId: string, fromSeq?: number): AsyncIterable<AnyEvent>;
}

/** Settings of a {@link WebhookOutbox}. */
export interface OutboxSettings {
  /** How often new events are enqueued and due deliveries sent, in ms. */
  readonly pollMs: number;
  /** Attempts of a delivery before it is recorded failed. */
  readonly maxAttempts: number;
  /** Wait before the second attempt, doubled for each next one (at most an hour), in ms. */
  readonly backoffMs: number;
  /** How long an attempt may take, in ms. */
  readonly timeoutMs: number;
  /** The version sent in User-Agent. */
  readonly version: string;
}

const MAX_BACKOFF_MS = 3_600_000;
/** Deliveries sent at once. */
const BATCH = 16;

/**
 * Sends the registered webhooks the events they asked for, from the store's durable outbox.
 *
 * Each tick does two things. It enqueues: for every session whose log moved past its cursor, the
 * events after it that a webhook's types match (and that are no older than the webhook), with
 * the cursor's move, in one transaction; so nothing is skipped or enqueued twice, whichever
 * process does it and however often it restarts. It sends: it claims the due deliveries, posts
 * each one signed (see signing.ts), and records the outcome: delivered on a 2xx, else tried again
 * after a backoff that doubles, and failed after `maxAttempts`. A process that dies while sending
 * leaves its claims to lapse; the delivery is sent again (receivers dedupe by delivery id).
 * With no webhook registered, a tick reads nothing.
 */
export class WebhookOutbox {
  readonly #store: WebhookStore;
  readonly #source: OutboxSource;
  readonly #settings: OutboxSettings;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(options: { store: WebhookStore; source: OutboxSource; settings: OutboxSettings; logger: Logger }) {
    this.#store = options.store;
    this.#source = options.source;
    this.#settings = options.settings;
    this.#logger = options.logger;
  }

  /** Starts ticking every `pollMs`. */
  start(): this {
    this.#schedule();
    return this;
  }

  /** One round of enqueueing and sending (tests, and the timer). Never rejects. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick()
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'the webhook outbox failed a round; it tries again'))
      .finally(() => {
        this.#ticking = undefined;
      });
    return this.#ticking;
  }

  /** Stops ticking and waits for the round in progress. Idempotent. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => this.#schedule());
    }, this.#settings.pollMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const hooks = (await this.#store.listWebhooks()).filter((hook) => hook.disabledAt === null);
    if (hooks.length > 0) await this.#enqueue(hooks);
    await this.#send(new Map(hooks.map((hook) => [hook.webhookId, hook])));
  }

  async #enqueue(hooks: readonly WebhookRecord[]): Promise<void> {
    const filters = hooks.map((hook) => ({ hook, filter: compileFilter({ pattern: [...hook.types] }) }));
    const cursors = await this.#store.webhookCursors();
    let before: string | undefined;
    for (;;) {
      const page = await this.#source.listSessions({ limit: 500, ...(before !== undefined && { before }) });
      for (const summary of page) {
        const cursor = cursors.get(summary.sessionId) ?? 0;
        if (summary.lastSeq > cursor && !this.#stopped) await this.#enqueueSession(summary.sessionId, cursor, filters);
      }
      if (page.length < 500) return;
      before = page.at(-1)?.sessionId;
    }
  }

  async #enqueueSession(
    sessionId: string,
    cursor: number,
    filters: ReadonlyArray<{ hook: WebhookRecord; filter: CompiledFilter }>,
  ): Promise<void> {
    let deliveries: NewDelivery[] = [];
    let upto = cursor;
    const flush = async () => {
      await this.#store.enqueueDeliveries(sessionId, upto, deliveries);
      deliveries = [];
    };
    for await (const event of this.#source.readAll(sessionId, cursor + 1)) {
      upto = event.seq;
      for (const { hook, filter } of filters) {
        // A webhook gets what happened after it was registered, not the history before it.
        if (event.ts < hook.createdAt || !filter.matchesType(event.type)) continue;
        const deliveryId = `dlv_${randomBytes(12).toString('hex')}`;
        deliveries.push({
          deliveryId,
          webhookId: hook.webhookId,
          eventId: event.id,
          sessionId,
          seq: event.seq,
          eventType: event.type,
          payload: `{"webhookId":${JSON.stringify(hook.webhookId)},"deliveryId":"${deliveryId}","event":${eventJson(event)}}`,
          createdAt: new Date().toISOString(),
        });
      }
      if (deliveries.length >= 200) await flush();
    }
    if (upto > cursor) await flush();
  }

  async #send(hooks: ReadonlyMap<string, WebhookRecord>): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const now = Date.now();
      const due = await this.#store.claimDeliveries(
        new Date(now).toISOString(),
        new Date(now + this.#settings.timeoutMs + 30_000).toISOString(),
        BATCH,
      );
      if (due.length === 0) return;
      await Promise.all(due.map((delivery) => this.#attempt(delivery, hooks.get(delivery.webhookId))));
      if (due.length < BATCH) return;
    }
  }

  async #attempt(delivery: DeliveryRecord, hook: WebhookRecord | undefined): Promise<void> {
    const attempts = delivery.attempts + 1;
    const at = new Date().toISOString();
    if (hook === undefined) {
      await this.#record(delivery, {
        status: 'cancelled',
        attempts: delivery.attempts,
        nextAttemptAt: at,
        lastStatus: null,
        lastError: 'the webhook was removed',
        deliveredAt: null,
      });
      return;
    }
    let lastStatus: number | null = null;
    let lastError: string | null = null;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `ai-orchestrator-webhooks/${this.#settings.version}`,
          'x-orchestrator-delivery': delivery.deliveryId,
          'x-orchestrator-event': delivery.eventType,
          'x-orchestrator-signature': signWebhook(hook.secret, timestamp, delivery.payload),
        },
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#settings.timeoutMs),
      });
      lastStatus = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        await this.#record(delivery, {
          status: 'delivered',
          attempts,
          nextAttemptAt: at,
          lastStatus,
          lastError: null,
          deliveredAt: new Date().toISOString(),
        });
        return;
      }
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error);
    }
    const failed = attempts >= this.#settings.maxAttempts;
    const delay = Math.min(this.#settings.backoffMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    await this.#record(delivery, {
      status: failed ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: failed ? at : new Date(Date.now() + delay).toISOString(),
      lastStatus,
      lastError,
      deliveredAt: null,
    });
  }

  async #record(delivery: DeliveryRecord, outcome: DeliveryOutcome): Promise<void> {
    await this.#store.recordDelivery(delivery.deliveryId, outcome);
    if (outcome.status === 'failed') {
      this.#logger.warn(
        { webhookId: delivery.webhookId, deliveryId: delivery.deliveryId, lastError: outcome.lastError },
        'a webhook delivery failed for good',
      );
    }
  }
}

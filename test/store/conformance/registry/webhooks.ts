import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { OrchestratorError } from '../../../../src/errors/index.ts';
import type { NewDelivery, WebhookStore } from '../../../../src/store/index.ts';

/** What the webhook specs use of a store. */
export interface WebhookSpecStore {
  readonly webhooks: WebhookStore;
  close(): Promise<void>;
}

const unique = () => randomBytes(6).toString('hex');
const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms).toISOString();

function delivery(webhookId: string, sessionId: string, seq: number): NewDelivery {
  return {
    deliveryId: `dlv_${unique()}`,
    webhookId,
    eventId: `evt_${sessionId}_${seq}`,
    sessionId,
    seq,
    eventType: 'workflow.completed',
    payload: JSON.stringify({ seq }),
    createdAt: at(seq),
  };
}

/** The specs of the `WebhookStore` contract, added to the registry suite. */
export function webhookSpecs(open: () => Promise<WebhookSpecStore>): void {
  it('registers webhooks once, lists them, and removing one cancels its pending deliveries', async () => {
    const store = await open();
    const webhookId = `wh_${unique()}`;
    const hook = {
      webhookId,
      url: 'http://127.0.0.1:9/hook',
      types: ['workflow.*'],
      secret: 's3cret',
      createdAt: at(0),
      createdBy: 'test',
    };
    expect(await store.webhooks.createWebhook(hook)).toEqual({ ...hook, disabledAt: null });
    const again = await store.webhooks.createWebhook(hook).catch((error: unknown) => error as OrchestratorError);
    expect((again as OrchestratorError).code).toBe('INVALID_ARGUMENT');
    const badUrl = await store.webhooks
      .createWebhook({ ...hook, webhookId: `wh_${unique()}`, url: 'file:///etc/passwd' })
      .catch((error: unknown) => error as OrchestratorError);
    expect((badUrl as OrchestratorError).details.field).toBe('webhook.url');
    const sessionId = `ses_${unique()}`;
    await store.webhooks.enqueueDeliveries(sessionId, 2, [
      delivery(webhookId, sessionId, 1),
      delivery(webhookId, sessionId, 2),
    ]);
    const removed = await store.webhooks.disableWebhook(webhookId, at(5));
    expect(removed?.disabledAt).toBe(at(5));
    expect((await store.webhooks.listDeliveries(webhookId)).map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
    expect((await store.webhooks.listWebhooks()).find((w) => w.webhookId === webhookId)?.disabledAt).toBe(at(5));
    expect(await store.webhooks.disableWebhook(`wh_${unique()}`, at(5))).toBeUndefined();
  });

  it('enqueues each event once per webhook, with the cursor, which never moves back', async () => {
    const store = await open();
    const webhookId = `wh_${unique()}`;
    const sessionId = `ses_${unique()}`;
    const first = [delivery(webhookId, sessionId, 1), delivery(webhookId, sessionId, 2)];
    expect(await store.webhooks.enqueueDeliveries(sessionId, 3, first)).toBe(2);
    // The same events again (a second process, or a restart before the cursor was read): no-ops.
    const repeat = first.map((d) => ({ ...d, deliveryId: `dlv_${unique()}` }));
    expect(await store.webhooks.enqueueDeliveries(sessionId, 2, repeat)).toBe(0);
    expect((await store.webhooks.webhookCursors()).get(sessionId)).toBe(3);
    expect(await store.webhooks.enqueueDeliveries(sessionId, 5, [delivery(webhookId, sessionId, 5)])).toBe(1);
    expect((await store.webhooks.webhookCursors()).get(sessionId)).toBe(5);
    expect((await store.webhooks.listDeliveries(webhookId)).map((d) => d.seq)).toEqual([5, 2, 1]);
  });

  it('claims due deliveries once until the claim lapses, and records outcomes', async () => {
    const a = await open();
    const b = await open();
    const webhookId = `wh_${unique()}`;
    const sessionId = `ses_${unique()}`;
    const all = Array.from({ length: 6 }, (_, i) => delivery(webhookId, sessionId, i + 1));
    await a.webhooks.enqueueDeliveries(sessionId, 6, all);
    // Two processes claim at once: they share the due deliveries, none twice.
    const [mine, theirs] = await Promise.all([
      a.webhooks.claimDeliveries(at(100), at(1000), 4),
      b.webhooks.claimDeliveries(at(100), at(1000), 4),
    ]);
    const claimed = [...mine, ...theirs].filter((d) => d.webhookId === webhookId).map((d) => d.seq);
    expect(new Set(claimed).size).toBe(claimed.length);
    const ours = [...mine, ...theirs].filter((d) => d.webhookId === webhookId);
    // Claimed ones are not due again before their claim lapses...
    const during = (await a.webhooks.claimDeliveries(at(200), at(1000), 100)).filter((d) => d.webhookId === webhookId);
    expect(during.map((d) => d.seq).some((seq) => claimed.includes(seq))).toBe(false);
    // ...and are, once it has (the process that claimed them died).
    const later = (await a.webhooks.claimDeliveries(at(2000), at(3000), 100)).filter((d) => d.webhookId === webhookId);
    expect(later.map((d) => d.seq).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const [sent, retry] = ours;
    await a.webhooks.recordDelivery(sent?.deliveryId as string, {
      status: 'delivered',
      attempts: 1,
      nextAttemptAt: at(2000),
      lastStatus: 204,
      lastError: null,
      deliveredAt: at(2001),
    });
    await a.webhooks.recordDelivery(retry?.deliveryId as string, {
      status: 'pending',
      attempts: 1,
      nextAttemptAt: at(9000),
      lastStatus: 503,
      lastError: 'HTTP 503',
      deliveredAt: null,
    });
    const delivered = await b.webhooks.listDeliveries(webhookId, { status: 'delivered' });
    expect(delivered).toEqual([
      expect.objectContaining({ seq: sent?.seq, lastStatus: 204, deliveredAt: at(2001), attempts: 1 }),
    ]);
    // The retried one is due at its next attempt, not before.
    expect(
      (await a.webhooks.claimDeliveries(at(8999), at(9500), 100)).some((d) => d.deliveryId === retry?.deliveryId),
    ).toBe(false);
    expect(
      (await a.webhooks.claimDeliveries(at(9001), at(9500), 100)).some((d) => d.deliveryId === retry?.deliveryId),
    ).toBe(true);
  });
}

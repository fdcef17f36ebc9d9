import { z } from 'zod';
import { route } from './route.ts';

/** Webhooks: register a URL for chosen event types; deliveries signed, retried, recorded. */

const webhookId = z.string().regex(/^wh_[0-9a-f]{24}$/, 'a webhook id (wh_ and 24 hex digits)');

export const webhookView = z.object({
  webhookId: z.string(),
  url: z.string(),
  types: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  disabledAt: z.string().nullable(),
});

export const deliveryView = z.object({
  deliveryId: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  sessionId: z.string(),
  seq: z.number().int(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

export const createWebhook = route({
  method: 'POST',
  path: '/v1/webhooks',
  operationId: 'createWebhook',
  summary: 'Register a URL for chosen event types; the answer holds the signing secret (shown once)',
  description:
    'Each event of any session whose type matches is posted to the URL as `{ webhookId, deliveryId, event }`, signed `X-Orchestrator-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. A non-2xx answer or no answer is tried again after a backoff that doubles; every attempt is recorded.',
  tag: 'webhooks',
  scope: 'admin',
  body: z.strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .describe('http:// or https://'),
    types: z.array(z.string().min(1).max(200)).min(1).max(50).describe('Event types or globs (`workflow.*`)'),
    secret: z.string().min(16).max(200).optional().describe('The signing secret (default: a new random one)'),
  }),
  status: 201,
  response: webhookView.extend({ secret: z.string() }),
});

export const listWebhooks = route({
  method: 'GET',
  path: '/v1/webhooks',
  operationId: 'listWebhooks',
  summary: 'Registered webhooks (never their secrets), removed ones included',
  tag: 'webhooks',
  scope: 'admin',
  response: z.object({ webhooks: z.array(webhookView) }),
});

export const deleteWebhook = route({
  method: 'DELETE',
  path: '/v1/webhooks/:id',
  operationId: 'deleteWebhook',
  summary: 'Remove a webhook: nothing more is sent to it, its pending deliveries are cancelled',
  tag: 'webhooks',
  scope: 'admin',
  params: z.strictObject({ id: webhookId }),
  response: webhookView,
});

export const listDeliveries = route({
  method: 'GET',
  path: '/v1/webhooks/:id/deliveries',
  operationId: 'listDeliveries',
  summary: "A webhook's deliveries with their outcome, newest first",
  tag: 'webhooks',
  scope: 'admin',
  params: z.strictObject({ id: webhookId }),
  query: z.strictObject({
    status: z.enum(['pending', 'delivered', 'failed', 'cancelled']).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  }),
  response: z.object({ deliveries: z.array(deliveryView) }),
});

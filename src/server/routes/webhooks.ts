import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isOrchestratorError, OrchestratorError } from '../../errors/index.ts';
import { compileFilter } from '../../events/index.ts';
import type { WebhookRecord } from '../../store/index.ts';
import type { ApiContext } from '../context.ts';
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks } from '../contract/webhooks.ts';
import { addRoute } from '../routing.ts';

/** `/v1/webhooks`: register, list and remove webhooks, and read their deliveries (scope `admin`). */
export function registerWebhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const webhooks = ctx.store.webhooks;

  addRoute(app, createWebhook, async ({ body }, { principal }) => {
    try {
      compileFilter({ pattern: body.types });
    } catch (error) {
      if (!isOrchestratorError(error, 'INVALID_ARGUMENT')) throw error;
      throw new OrchestratorError('INVALID_ARGUMENT', `body.types: ${error.message}`, {
        cause: error,
        details: { ...error.details, field: 'body.types' },
      });
    }
    const created = await webhooks.createWebhook({
      webhookId: `wh_${randomBytes(12).toString('hex')}`,
      url: body.url,
      types: body.types,
      secret: body.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
      createdAt: new Date().toISOString(),
      createdBy: principal.by,
    });
    return { ...viewOf(created), secret: created.secret };
  });

  addRoute(app, listWebhooks, async () => ({ webhooks: (await webhooks.listWebhooks()).map(viewOf) }));

  addRoute(app, deleteWebhook, async ({ params }) => {
    const removed = await webhooks.disableWebhook(params.id, new Date().toISOString());
    if (removed === undefined) throw notFound(params.id);
    return viewOf(removed);
  });

  addRoute(app, listDeliveries, async ({ params, query }) => {
    const known = (await webhooks.listWebhooks()).some((hook) => hook.webhookId === params.id);
    if (!known) throw notFound(params.id);
    const deliveries = await webhooks.listDeliveries(params.id, { status: query.status, limit: query.limit });
    return { deliveries: deliveries.map(({ payload: _payload, ...rest }) => rest) };
  });
}

function viewOf(hook: WebhookRecord) {
  const { secret: _secret, ...view } = hook;
  return view;
}

function notFound(webhookId: string): OrchestratorError {
  return new OrchestratorError('WEBHOOK_NOT_FOUND', `no webhook "${webhookId}"`, { details: { webhookId } });
}

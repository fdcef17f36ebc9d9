import type { FastifyInstance } from 'fastify';
import { registerDashboard } from '../../dashboard/index.ts';
import type { ApiContext } from '../context.ts';
import { SessionViews } from '../views/sessions.ts';
import { registerControlRoutes } from './control.ts';
import { registerKeyRoutes } from './keys.ts';
import { registerMonitoringRoutes } from './monitoring.ts';
import { registerMetrics, registerProbes } from './ops.ts';
import { registerQuestionRoutes } from './questions.ts';
import { registerSessionRoutes } from './sessions.ts';
import { registerStreamRoutes } from './streams.ts';
import { registerVersionRoutes } from './versions.ts';
import { registerWebhookRoutes } from './webhooks.ts';
import { registerWorkflowRoutes } from './workflows.ts';

/** Routes outside authentication: the probes and the dashboard page. */
export function registerPublicRoutes(app: FastifyInstance, ctx: ApiContext): void {
  registerProbes(app, ctx);
  // The page holds no data: it asks for a key and sends it with every API call.
  registerDashboard(app);
}

/** Every route that needs an API key. */
export function registerApiRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const views = new SessionViews({ orchestrator: ctx.orchestrator });
  registerMetrics(app, ctx);
  registerWorkflowRoutes(app, ctx);
  registerSessionRoutes(app, ctx, views);
  registerControlRoutes(app, ctx, views);
  registerQuestionRoutes(app, views);
  registerVersionRoutes(app, ctx);
  registerMonitoringRoutes(app, ctx, views);
  registerStreamRoutes(app, ctx, views);
  registerWebhookRoutes(app, ctx);
  registerKeyRoutes(app, ctx);
}

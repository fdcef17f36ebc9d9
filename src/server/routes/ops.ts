import type { FastifyInstance } from 'fastify';
import { toOrchestratorError } from '../../errors/index.ts';
import type { ApiContext } from '../context.ts';
import { health, metrics, ready } from '../contract/ops.ts';
import { sendError } from '../http-errors.ts';
import { addRoute } from '../routing.ts';

/** `/healthz` and `/readyz`: probes, no key. */
export function registerProbes(app: FastifyInstance, ctx: ApiContext): void {
  addRoute(app, health, async () => ({ status: 'ok' as const }));
  addRoute(app, ready, async (_input, { request, reply }) => {
    try {
      // The store migrates when it opens: reaching it means the migrations are done.
      await ctx.store.listSessions({ limit: 1 });
    } catch (error) {
      return sendError(toOrchestratorError(error, 'STORE_UNAVAILABLE'), request, reply, {
        bodyLimit: ctx.options.bodyLimitBytes,
        logger: ctx.logger,
      });
    }
    return {
      status: 'ready' as const,
      store: ctx.store.kind,
      migrations: 'done' as const,
      sessionsRunningHere: ctx.orchestrator.runningSessions().length,
    };
  });
}

/** `/metrics`: the monitor's Prometheus registry (needs `read`). */
export function registerMetrics(app: FastifyInstance, ctx: ApiContext): void {
  addRoute(app, metrics, async () => ctx.orchestrator.monitor.prometheusText());
}

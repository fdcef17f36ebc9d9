import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { OrchestratorError } from '../../errors/index.ts';
import { severityRank } from '../../events/index.ts';
import { reportSource, statistics } from '../../reports/index.ts';
import type { ApiContext } from '../context.ts';
import { agentTranscript, getPayload, getStatistics, listAgents, listAlerts } from '../contract/monitoring.ts';
import { addRoute } from '../routing.ts';
import type { CachedSession } from '../views/session-cache.ts';
import type { SessionViews } from '../views/sessions.ts';

type Alert = z.input<typeof listAlerts.response>['alerts'][number];

/** Agents and transcripts, full values of shortened event fields, statistics, alerts. */
export function registerMonitoringRoutes(app: FastifyInstance, ctx: ApiContext, views: SessionViews): void {
  addRoute(app, listAgents, async ({ params }) => {
    const { cached, report } = await views.report(params.id);
    return {
      agents: Object.values(report.metrics.agents).map((agent) => ({
        ...agent,
        sdkSessionId: cached.draft.state.agents[agent.agentId]?.sdkSessionId ?? null,
      })),
    };
  });

  addRoute(app, agentTranscript, async ({ params }) => {
    const cached = await views.session(params.id);
    if (cached.draft.state.agents[params.agentId] === undefined) {
      throw new OrchestratorError('AGENT_NOT_FOUND', `session "${params.id}" has no agent "${params.agentId}"`, {
        details: { sessionId: params.id, agentId: params.agentId },
      });
    }
    const transcript = await ctx.orchestrator.sessions.agentTranscript(params.id, params.agentId);
    if (transcript === undefined) {
      return { agentId: params.agentId, sdkSessionId: '', entries: [], subagents: [] };
    }
    return transcript;
  });

  addRoute(app, getPayload, ({ params }) => ctx.orchestrator.sessions.payload(params.id, params.sha256));

  addRoute(app, getStatistics, async ({ query }) =>
    statistics(reportSource(ctx.orchestrator.log), {
      by: query.by,
      ...(query.sessions !== undefined && { sessions: query.sessions }),
    }),
  );

  addRoute(app, listAlerts, async ({ query }) => {
    const alerts: Alert[] = [];
    const minimum = query.severity === undefined ? 0 : severityRank(query.severity);
    const collect = (cached: CachedSession) => {
      for (const alert of Object.values(cached.draft.metrics.activeAlerts)) {
        const rank = (['info', 'warning', 'error', 'critical'] as const).indexOf(alert.severity as 'info');
        if (rank >= minimum) alerts.push({ ...alert, sessionId: cached.sessionId });
      }
    };
    if (query.session !== undefined) {
      collect(await views.session(query.session));
      return { alerts, scanned: 1 };
    }
    const scanned = await views.scan(query.scan, collect);
    return { alerts, scanned };
  });
}

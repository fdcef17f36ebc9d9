import type { FastifyInstance } from 'fastify';
import { isOrchestratorError, OrchestratorError } from '../../errors/index.ts';
import type { ApiContext } from '../context.ts';
import { listSessions, showSession, startSession } from '../contract/sessions.ts';
import { addRoute } from '../routing.ts';
import type { SessionViews } from '../views/sessions.ts';
import { compileFromRequest, loadRegistered } from './definitions.ts';

/** `/v1/sessions`: start, list, show. */
export function registerSessionRoutes(app: FastifyInstance, ctx: ApiContext, views: SessionViews): void {
  addRoute(app, startSession, async ({ body }, { principal }) => {
    let version: number | null = null;
    let compiled: ReturnType<typeof compileFromRequest>;
    if (body.workflow !== undefined) {
      const registered = await loadRegistered(ctx.store.workflows, body.workflow, body.version);
      compiled = registered.compiled;
      version = registered.stored.version;
    } else {
      compiled = compileFromRequest(body, principal);
    }
    const handle = await ctx.orchestrator
      .startWorkflow(compiled, {
        inputs: body.inputs,
        by: principal.by,
        ...(body.sessionId !== undefined && { sessionId: body.sessionId }),
      })
      .catch((error: unknown) => {
        throw namedInput(error);
      });
    return {
      sessionId: handle.sessionId,
      workflowId: handle.workflowId,
      workflow: { name: compiled.name, version },
      workspace: handle.workspace,
      status: handle.state.status,
    };
  });

  addRoute(app, listSessions, async ({ query }) => views.list(query));

  addRoute(app, showSession, async ({ params }, { reply }) =>
    reply.type('application/json; charset=utf-8').send(await views.showJson(params.id)),
  );
}

/** Bad inputs name the request field of the first one (`body.inputs.topic`), as every validation error does. */
function namedInput(error: unknown): unknown {
  if (!isOrchestratorError(error, 'INVALID_ARGUMENT')) return error;
  const problems = error.details.problems as Array<{ input?: string }> | undefined;
  const input = problems?.[0]?.input;
  if (input === undefined || error.details.field !== undefined) return error;
  return new OrchestratorError('INVALID_ARGUMENT', error.message, {
    cause: error,
    details: { ...error.details, field: `body.inputs.${input}` },
  });
}

import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { OrchestratorError } from '../../errors/index.ts';
import type { AnyEvent } from '../../events/index.ts';
import { budgetPauseOf, monitorSettings } from '../../monitor/index.ts';
import type { ControlRequest } from '../../orchestrator/index.ts';
import type { Principal } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import type { controlReceipt } from '../contract/common.ts';
import { answerQuestion } from '../contract/questions.ts';
import { cancelSession, pauseSession, resumeSession } from '../contract/sessions.ts';
import { addRoute } from '../routing.ts';
import { isOpen, type SessionViews } from '../views/sessions.ts';

/**
 * Steering: cancel, pause, resume, answer. Every request goes through the orchestrator's control
 * path: a `control.requested` event naming the API key, applied by whichever process runs the
 * session (this one at once, another within a second, the next resume when nobody does).
 */
export function registerControlRoutes(app: FastifyInstance, ctx: ApiContext, views: SessionViews): void {
  const steer = async (
    sessionId: string,
    request: ControlRequest,
    principal: Principal,
  ): Promise<z.input<typeof controlReceipt>> => {
    const { report } = await views.report(sessionId);
    const status = report.status;
    if (!isOpen(status)) {
      throw new OrchestratorError('WORKFLOW_NOT_RUNNING', `session "${sessionId}" has ended (${status})`, {
        details: { sessionId, status },
      });
    }
    const here = ctx.orchestrator.handle(sessionId) !== undefined;
    const receipt = await ctx.orchestrator.control(sessionId, { ...request, by: principal.by });
    const owner = receipt.owner ? { host: receipt.owner.host, pid: receipt.owner.pid } : undefined;
    return {
      sessionId,
      action: request.action,
      controlId: receipt.controlId,
      applied: here ? 'now' : owner ? 'by-owner' : 'on-resume',
      ...(owner && { owner }),
    };
  };

  addRoute(app, cancelSession, async ({ params, body }, { principal }) =>
    steer(params.id, { action: 'cancel', ...(body?.reason !== undefined && { reason: body.reason }) }, principal),
  );
  addRoute(app, pauseSession, async ({ params, body }, { principal }) =>
    steer(params.id, { action: 'pause', ...(body?.reason !== undefined && { reason: body.reason }) }, principal),
  );

  addRoute(app, answerQuestion, async ({ params, body }, { principal }) => {
    const cached = await views.session(params.id);
    const question = Object.values(cached.draft.state.workflows)
      .map((wf) => wf.inputRequests[params.requestId])
      .find((request) => request !== undefined);
    if (question === undefined) {
      throw new OrchestratorError(
        'INPUT_REQUEST_NOT_FOUND',
        `session "${params.id}" has no open question "${params.requestId}" (answered, closed, or never asked)`,
        { details: { sessionId: params.id, requestId: params.requestId } },
      );
    }
    const value =
      question.kind === 'approval'
        ? { approved: body.approved ?? body.value === true, comment: body.comment ?? `answered by ${principal.name}` }
        : body.value;
    if (question.kind === 'approval' && body.approved === undefined && typeof body.value !== 'boolean') {
      throw new OrchestratorError(
        'INVALID_ARGUMENT',
        'body.approved: an approval is answered with approved: true or false',
        {
          details: { field: 'body.approved' },
        },
      );
    }
    if (question.kind === 'input' && body.value === undefined) {
      throw new OrchestratorError('INVALID_ARGUMENT', 'body.value: a question is answered with a value', {
        details: { field: 'body.value' },
      });
    }
    return steer(params.id, { action: 'answer', requestId: params.requestId, value }, principal);
  });

  addRoute(app, resumeSession, async ({ params, body }, { principal }) => {
    const sessionId = params.id;
    const reason = body?.reason ?? `resumed by ${principal.name}`;
    const { report } = await views.report(sessionId);
    if (body?.version === undefined) {
      // A live process runs it (this one or another): it is asked to carry on.
      if (report.owner !== undefined || ctx.orchestrator.handle(sessionId) !== undefined) {
        const receipt = await steer(sessionId, { action: 'resume', reason }, principal);
        return {
          sessionId,
          mode: 'requested' as const,
          controlId: receipt.controlId,
          ...(receipt.owner && { owner: receipt.owner }),
        };
      }
      if (!report.resumable) {
        throw new OrchestratorError(
          'WORKFLOW_NOT_RUNNING',
          `session "${sessionId}" has no unfinished workflow (${report.status})`,
          { details: { sessionId, status: report.status } },
        );
      }
    }
    const handle = await ctx.orchestrator.resumeSession(sessionId, { version: body?.version, by: principal.by });
    if (handle.state.paused) await carryOnPaused(ctx, handle.sessionId, reason, principal);
    return {
      sessionId: handle.sessionId,
      mode: 'running-here' as const,
      owner: { host: ctx.orchestrator.leases.owner.host, pid: ctx.orchestrator.leases.owner.pid },
    };
  });
}

/**
 * A session resumed here that was left paused carries on, unless a budget still holds it (the
 * limits in force in this process are reached): then it stays paused, as `sessions resume` does.
 */
async function carryOnPaused(ctx: ApiContext, sessionId: string, reason: string, principal: Principal): Promise<void> {
  const events: AnyEvent[] = [];
  for await (const event of ctx.orchestrator.log.readAll(sessionId)) events.push(event);
  const pause = budgetPauseOf(sessionId, events, monitorSettings(ctx.orchestrator.config).budget);
  if (pause !== undefined && pause.reached.length > 0) return;
  await ctx.orchestrator.control(sessionId, { action: 'resume', reason, by: principal.by });
}

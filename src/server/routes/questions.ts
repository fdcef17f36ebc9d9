import type { FastifyInstance } from 'fastify';
import { listQuestions, sessionQuestions } from '../contract/questions.ts';
import { addRoute } from '../routing.ts';
import { questionsOf, type SessionViews } from '../views/sessions.ts';

/** Open questions and approvals, across sessions and per session (answers are a control route). */
export function registerQuestionRoutes(app: FastifyInstance, views: SessionViews): void {
  addRoute(app, listQuestions, async ({ query }) => views.questions(query.scan));
  addRoute(app, sessionQuestions, async ({ params }) => ({
    questions: questionsOf((await views.session(params.id)).draft.state),
  }));
}

import { z } from 'zod';
import { safeName, sessionId } from './common.ts';
import { route } from './route.ts';
import { questionView } from './sessions.ts';

/** Questions and approvals open to humans, across sessions, and their answers. */

export const listQuestions = route({
  method: 'GET',
  path: '/v1/questions',
  operationId: 'listQuestions',
  summary: 'Questions and approvals open now, across the newest sessions',
  tag: 'questions',
  scope: 'read',
  query: z.strictObject({
    scan: z.coerce.number().int().min(1).max(10_000).default(1000).describe('Sessions looked at, newest first'),
  }),
  response: z.object({ questions: z.array(questionView), scanned: z.number().int() }),
});

export const sessionQuestions = route({
  method: 'GET',
  path: '/v1/sessions/:id/questions',
  operationId: 'sessionQuestions',
  summary: 'The questions and approvals open now in one session',
  tag: 'questions',
  scope: 'read',
  params: z.strictObject({ id: sessionId }),
  response: z.object({ questions: z.array(questionView) }),
});

export const answerQuestion = route({
  method: 'POST',
  path: '/v1/sessions/:id/questions/:requestId/answer',
  operationId: 'answerQuestion',
  summary: 'Answer an open question (`value`) or approval (`approved`, `comment`)',
  description:
    'Recorded as a `control.requested` event naming the API key; the process running the session applies it. An agent\u2019s output never answers an approval: only this route (or the CLI) does.',
  tag: 'questions',
  scope: 'approve',
  params: z.strictObject({ id: sessionId, requestId: safeName }),
  body: z.strictObject({
    value: z.unknown().optional().describe('The answer to a question (text or JSON)'),
    approved: z.boolean().optional().describe('For an approval'),
    comment: z.string().max(2000).optional().describe('For an approval'),
  }),
  status: 202,
  response: z.object({
    sessionId: z.string(),
    action: z.string(),
    controlId: z.string(),
    applied: z.enum(['now', 'by-owner', 'on-resume']),
    owner: z.object({ host: z.string(), pid: z.number().int() }).optional(),
  }),
});

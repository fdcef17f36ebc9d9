import type { keys, monitoring, questions, sessions, streams, workflows } from '../../../src/server/contract/index.ts';
import type { ApiClient } from './client.ts';
import type { Answer, ApiRoute, Body, QueryOf } from './types.ts';

/**
 * The API's routes the page calls. Each call names its contract route as a type and spells its
 * method and path: the type check fails when they differ from the contract's, and the answer
 * is typed by the route's response schema.
 */

const enc = encodeURIComponent;

/** Fills a contract path's `:name` parameters. */
export function fillPath(path: string, params: Readonly<Record<string, string | number>> = {}): string {
  return path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${path}`);
    return enc(String(value));
  });
}

/** One call of a contract route. */
function call<R extends ApiRoute>(
  client: ApiClient,
  method: R['method'],
  path: R['path'],
  input: {
    readonly params?: Readonly<Record<string, string | number>>;
    readonly query?: QueryOf<R>;
    readonly body?: Body<R>;
  } = {},
): Promise<Answer<R>> {
  const url = fillPath(path, input.params);
  const query = input.query as Record<string, string | number | boolean | undefined> | undefined;
  if (method === 'GET') return client.get<Answer<R>>(url, query);
  if (method === 'DELETE') return client.delete<Answer<R>>(url);
  return client.post<Answer<R>>(url, input.body ?? {});
}

/** The event stream of a session (SSE), after a seq. */
export function sessionEventsPath(sessionId: string, after = 0): string {
  const path: (typeof streams.sessionEvents)['path'] = '/v1/sessions/:id/events';
  return `${fillPath(path, { id: sessionId })}?after=${after}`;
}

/** The stream of every session's summary row (SSE `event: session`), for the list. */
export const SUMMARIES_PATH: `${(typeof streams.liveSessions)['path']}?limit=50` = '/v1/live/sessions?limit=50';

export function routes(client: ApiClient) {
  return {
    whoami: () => call<typeof keys.whoami>(client, 'GET', '/v1/whoami'),
    listSessions: (query: QueryOf<typeof sessions.listSessions>) =>
      call<typeof sessions.listSessions>(client, 'GET', '/v1/sessions', { query }),
    showSession: (id: string) =>
      call<typeof sessions.showSession>(client, 'GET', '/v1/sessions/:id', { params: { id } }),
    startSession: (body: Body<typeof sessions.startSession>) =>
      call<typeof sessions.startSession>(client, 'POST', '/v1/sessions', { body }),
    cancel: (id: string, reason?: string) =>
      call<typeof sessions.cancelSession>(client, 'POST', '/v1/sessions/:id/cancel', {
        params: { id },
        body: reason ? { reason } : {},
      }),
    pause: (id: string, reason?: string) =>
      call<typeof sessions.pauseSession>(client, 'POST', '/v1/sessions/:id/pause', {
        params: { id },
        body: reason ? { reason } : {},
      }),
    resume: (id: string, version?: number) =>
      call<typeof sessions.resumeSession>(client, 'POST', '/v1/sessions/:id/resume', {
        params: { id },
        body: version ? { version } : {},
      }),
    fork: (id: string, version: number) =>
      call<typeof sessions.forkSession>(client, 'POST', '/v1/sessions/:id/fork', { params: { id }, body: { version } }),
    versions: (id: string) =>
      call<typeof sessions.listVersions>(client, 'GET', '/v1/sessions/:id/versions', { params: { id } }),
    takeVersion: (id: string, label?: string) =>
      call<typeof sessions.takeVersion>(client, 'POST', '/v1/sessions/:id/versions', {
        params: { id },
        body: label ? { label } : {},
      }),
    diff: (id: string, from: number, to?: number) =>
      call<typeof sessions.diffVersions>(client, 'GET', '/v1/sessions/:id/diff', {
        params: { id },
        query: { from, ...(to !== undefined && { to }) },
      }),
    diffFiles: (id: string, from: number, to?: number) =>
      call<typeof sessions.diffFiles>(client, 'GET', '/v1/sessions/:id/diff/files', {
        params: { id },
        query: { from, ...(to !== undefined && { to }) },
      }),
    answer: (id: string, requestId: string, body: Body<typeof questions.answerQuestion>) =>
      call<typeof questions.answerQuestion>(client, 'POST', '/v1/sessions/:id/questions/:requestId/answer', {
        params: { id, requestId },
        body,
      }),
    listWorkflows: () => call<typeof workflows.listWorkflows>(client, 'GET', '/v1/workflows'),
    stats: (by: 'workflow' | 'agent-type' | 'day', sessionsCount?: number) =>
      call<typeof monitoring.getStatistics>(client, 'GET', '/v1/statistics', {
        query: { by, ...(sessionsCount !== undefined && { sessions: sessionsCount }) },
      }),
  };
}

/** The page's API. */
export type Routes = ReturnType<typeof routes>;

import type { ApiClient, Query } from './client.ts';
import type {
  ControlReceipt,
  DiffView,
  ForkResult,
  Principal,
  ResumeResult,
  SessionList,
  SessionView,
  StartedSession,
  StatsReport,
  VersionRow,
  WorkflowSummary,
} from './types.ts';

/** The API's routes the page calls, in one place. */

const enc = encodeURIComponent;

/** The event stream of a session (SSE), after a seq. */
export function sessionEventsPath(sessionId: string, after = 0): string {
  return `/v1/sessions/${enc(sessionId)}/events?after=${after}`;
}

/** The stream of every session's summary row (SSE `event: session`), for the list. */
export const SUMMARIES_PATH = '/v1/live/sessions?limit=50';

export function routes(client: ApiClient) {
  return {
    whoami: () => client.get<Principal>('/v1/whoami'),
    listSessions: (query: Query) => client.get<SessionList>('/v1/sessions', query),
    showSession: (id: string) => client.get<SessionView>(`/v1/sessions/${enc(id)}`),
    startSession: (body: { workflow?: string; source?: string; inputs: Record<string, unknown> }) =>
      client.post<StartedSession>('/v1/sessions', body),
    cancel: (id: string, reason?: string) =>
      client.post<ControlReceipt>(`/v1/sessions/${enc(id)}/cancel`, reason ? { reason } : {}),
    pause: (id: string, reason?: string) =>
      client.post<ControlReceipt>(`/v1/sessions/${enc(id)}/pause`, reason ? { reason } : {}),
    resume: (id: string, version?: number) =>
      client.post<ResumeResult>(`/v1/sessions/${enc(id)}/resume`, version ? { version } : {}),
    fork: (id: string, version: number) => client.post<ForkResult>(`/v1/sessions/${enc(id)}/fork`, { version }),
    versions: (id: string) => client.get<{ versions: VersionRow[] }>(`/v1/sessions/${enc(id)}/versions`),
    takeVersion: (id: string, label?: string) =>
      client.post<VersionRow>(`/v1/sessions/${enc(id)}/versions`, label ? { label } : {}),
    diff: (id: string, from: number, to?: number) => client.get<DiffView>(`/v1/sessions/${enc(id)}/diff`, { from, to }),
    answer: (id: string, requestId: string, body: { approved?: boolean; value?: unknown; comment?: string }) =>
      client.post<ControlReceipt>(`/v1/sessions/${enc(id)}/questions/${enc(requestId)}/answer`, body),
    listWorkflows: () => client.get<{ workflows: WorkflowSummary[] }>('/v1/workflows'),
    registerWorkflow: (source: string) => client.post<WorkflowSummary>('/v1/workflows', { source }),
    stats: (by: 'workflow' | 'agent-type' | 'day', sessions?: number) =>
      client.get<StatsReport>('/v1/statistics', { by, sessions }),
  };
}

/** The page's API. */
export type Routes = ReturnType<typeof routes>;

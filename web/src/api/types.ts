import type { z } from 'zod';
import type {
  ApiRoute,
  ApiScope,
  eventSchema,
  keys,
  monitoring,
  questions,
  sessions,
  streams,
  workflows,
} from '../../../src/server/contract/index.ts';
import type { LogEvent } from '../model/event.ts';

/**
 * The API's shapes as the page uses them, all taken from the server's contract
 * (src/server/contract): types only, so nothing of the contract (zod, the read models) is
 * bundled into the page. A change of the contract that the page does not follow fails the
 * page's type check.
 */

export type { ApiRoute, ApiScope };

/** What a route answers (its JSON, as sent). */
export type Answer<R extends ApiRoute> = z.output<R['response']>;
/** What a route takes as its body. */
export type Body<R extends ApiRoute> = R['body'] extends z.ZodType ? z.input<R['body']> : never;
/** What a route takes as its query. */
export type QueryOf<R extends ApiRoute> = R['query'] extends z.ZodType ? z.input<R['query']> : never;

export type SessionListRow = z.output<typeof sessions.sessionListRow>;
/** What a session can be listed as (its workflow's state, `interrupted`, `empty`, `unreadable`). */
export type SessionStatus = NonNullable<SessionListRow['status']>;
export type SessionList = Answer<typeof sessions.listSessions>;
export type SessionView = Answer<typeof sessions.showSession>;
export type QuestionView = z.output<typeof sessions.questionView>;
export type ControlReceipt = Answer<typeof sessions.cancelSession>;
export type WorkflowSummary = z.output<typeof workflows.workflowSummary>;
export type WorkflowInput = WorkflowSummary['inputs'][string];
export type StartedSession = Answer<typeof sessions.startSession>;
export type VersionRow = Answer<typeof sessions.listVersions>['versions'][number];
export type DiffView = Answer<typeof sessions.diffVersions>;
export type FileDiffView = Answer<typeof sessions.diffFiles>;
export type FileChange = FileDiffView['files'][number];
export type BudgetLine = SessionView['budgets'][number];
export type ForkResult = Answer<typeof sessions.forkSession>;
export type ResumeResult = Answer<typeof sessions.resumeSession>;
export type StatsReport = Answer<typeof monitoring.getStatistics>;
export type StatsRow = StatsReport['rows'][number];
export type AnswerBody = Body<typeof questions.answerQuestion>;
export type EventFilter = QueryOf<typeof streams.sessionEvents>;

/** An event as the API sends it fits the page's event type (checked here, at compile time). */
export const acceptsContractEvents: (event: z.output<typeof eventSchema>) => LogEvent = (event) => event;

/** The statuses a session can be listed with, for the list's filter (typed by the contract's rows). */
export const SESSION_STATUSES: readonly SessionStatus[] = [
  'running',
  'awaiting_input',
  'paused',
  'interrupted',
  'rolling_back',
  'completed',
  'failed',
  'cancelled',
  'empty',
  'unreadable',
];

/** Who the tab's key is and what each scope lets it do (`GET /v1/whoami`). */
export type Principal = Answer<typeof keys.whoami>;

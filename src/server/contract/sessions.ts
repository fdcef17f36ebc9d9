import { z } from 'zod';
import {
  budgetLineSchema,
  ROW_STATUSES,
  sessionReportSchema,
  sessionRowSchema,
  versionRowSchema,
} from '../../reports/index.ts';
import { controlReceipt, pageLimit, positiveInt, reasonBody, safeName, sessionId, sessionParams } from './common.ts';
import { route } from './route.ts';

/** Sessions: start, list, show, steer, fork, versions, diff, export, import. */

/**
 * Statuses a session can be listed with (the reports area's): its workflow's, `interrupted` when
 * no live process runs an unfinished one, `empty` before a workflow started, `unreadable` when
 * its log cannot be read.
 */
export const SESSION_STATUSES = ROW_STATUSES as readonly [string, ...string[]];

const errorInfo = z.object({ code: z.string(), message: z.string(), retryable: z.boolean().optional() });

/** An open question to a human (a `human` node, an approval, an agent's `ask_human`, a tool approval). */
export const questionView = z
  .object({
    sessionId: z.string(),
    workflowId: z.string(),
    requestId: z.string(),
    kind: z.enum(['input', 'approval']),
    prompt: z.string(),
    nodeId: z.string().optional(),
    agentId: z.string().optional(),
    /** The log position of the question. */
    seq: z.number().int(),
  })
  .describe('An open question');

export const nodeView = z.object({
  id: z.string(),
  status: z.string(),
  attempts: z.number().int(),
  agentId: z.string().optional(),
  cached: z.boolean().optional(),
  error: errorInfo.optional(),
  output: z.unknown().optional(),
});

export const workflowView = z.object({
  workflowId: z.string(),
  name: z.string(),
  status: z.string(),
  paused: z.boolean(),
  cancelRequested: z.boolean(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  error: errorInfo.optional(),
  inputs: z.record(z.string(), z.unknown()),
  nodes: z.array(nodeView),
});

/** Who runs a session now. */
export const ownerView = z
  .object({
    host: z.string(),
    pid: z.number().int(),
    since: z.string(),
    /** When its lease lapses unless renewed. */
    expiresAt: z.string(),
    /** True when it is this server's process. */
    here: z.boolean(),
  })
  .nullable();

/** `GET /v1/sessions/{id}`: a session's state, nodes, open questions and every figure. */
export const sessionView = z.object({
  sessionId: z.string(),
  /** The name of its latest workflow run. */
  workflow: z.string().nullable(),
  status: sessionReportSchema.shape.status,
  /** Whether it can be carried on (`POST .../resume`): unfinished, and no live process runs it. */
  resumable: z.boolean(),
  lastSeq: z.number().int(),
  owner: ownerView,
  workspace: z.string().nullable(),
  workflows: z.array(workflowView),
  questions: z.array(questionView),
  /**
   * Every limit in force (the session's, each workflow's and agent type's, each node's
   * `budget:`), what was spent against it and what is left. Global limits are this server's settings.
   */
  budgets: z.array(budgetLineSchema),
  /** The reports area's report: figures, cost, origin, events by type (what `sessions show` prints). */
  report: sessionReportSchema,
});

/** An item of `GET /v1/sessions`: the reports area's row, with the questions open in it. */
export const sessionListRow = sessionRowSchema.extend({
  openQuestions: z.number().int(),
});

export const startSession = route({
  method: 'POST',
  path: '/v1/sessions',
  operationId: 'startSession',
  summary: 'Start a workflow in a new session; this server runs it',
  description:
    'Give `workflow` (a registered name, optionally `version`) or the definition itself (`source`: YAML or JSON text, or `definition`: an object). Inputs are checked against its declarations before anything starts.',
  tag: 'sessions',
  scope: 'run',
  body: z
    .strictObject({
      workflow: safeName.optional().describe('A registered workflow'),
      version: positiveInt.optional().describe('Its version (default: the latest)'),
      source: z.string().max(1_000_000).optional().describe('A workflow definition as YAML or JSON text'),
      definition: z.record(z.string(), z.unknown()).optional().describe('A workflow definition as an object'),
      inputs: z.record(z.string(), z.unknown()).default({}),
      sessionId: sessionId.optional().describe('The new session id (default: a new one)'),
    })
    .refine((b) => [b.workflow, b.source, b.definition].filter((v) => v !== undefined).length === 1, {
      message: 'give exactly one of workflow, source, definition',
      path: ['workflow'],
    }),
  status: 201,
  response: z.object({
    sessionId: z.string(),
    workflowId: z.string(),
    workflow: z.object({ name: z.string(), version: z.number().int().nullable() }),
    workspace: z.string(),
    status: z.string(),
  }),
});

export const listSessions = route({
  method: 'GET',
  path: '/v1/sessions',
  operationId: 'listSessions',
  summary: 'Sessions, newest first, with filters and cursor paging',
  description:
    'With filters (`status`, `workflow`, `q`), at most `scan` sessions are looked at per page; `nextCursor` carries on from where the page stopped.',
  tag: 'sessions',
  scope: 'read',
  query: z.strictObject({
    status: z.enum(SESSION_STATUSES).optional(),
    workflow: safeName.optional().describe('Only sessions of this workflow name'),
    q: z
      .string()
      .max(200)
      .optional()
      .describe('Only sessions whose id or workflow name contains this text (ignoring case)'),
    limit: pageLimit,
    cursor: sessionId.optional().describe('The `nextCursor` of the previous page'),
    scan: z.coerce.number().int().min(1).max(10_000).default(1000),
  }),
  response: z.object({
    sessions: z.array(sessionListRow),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null at the end'),
  }),
});

export const showSession = route({
  method: 'GET',
  path: '/v1/sessions/:id',
  operationId: 'showSession',
  summary: 'A session: status, owner, workflows with their nodes, open questions, and every figure',
  tag: 'sessions',
  scope: 'read',
  params: sessionParams,
  response: sessionView,
});

const control = (action: 'cancel' | 'pause', summary: string) =>
  route({
    method: 'POST',
    path: `/v1/sessions/:id/${action}`,
    operationId: `${action}Session`,
    summary,
    description:
      'Recorded as a `control.requested` event naming the API key; the process that runs the session applies it (this one at once, another within a second, or the next resume).',
    tag: 'control',
    scope: 'run',
    params: sessionParams,
    body: reasonBody.optional(),
    status: 202,
    response: controlReceipt,
  });

export const cancelSession = control('cancel', 'Cancel a session: its agents stop, nothing more starts');
export const pauseSession = control('pause', 'Pause a session: running agents are interrupted, nothing starts');

export const resumeSession = route({
  method: 'POST',
  path: '/v1/sessions/:id/resume',
  operationId: 'resumeSession',
  summary: 'Let a session carry on: unpause it where it runs, or run it here when nobody does',
  description:
    'A session a live process runs gets a `resume` control request (it carries on if paused). A session nobody runs is taken over by this server and carried on from its log; with `version`, a fork of that version is.',
  tag: 'control',
  scope: 'run',
  params: sessionParams,
  body: z
    .strictObject({
      reason: z.string().max(2000).optional(),
      version: positiveInt.optional().describe('Carry on from this version instead: a fork of it'),
    })
    .optional(),
  status: 202,
  response: z.object({
    sessionId: z.string().describe('The session that carries on (a new one when forked from a version)'),
    mode: z.enum(['requested', 'running-here']),
    controlId: z.string().optional(),
    owner: z.object({ host: z.string(), pid: z.number().int() }).optional(),
  }),
});

export const forkSession = route({
  method: 'POST',
  path: '/v1/sessions/:id/fork',
  operationId: 'forkSession',
  summary: 'A new session from a version (or a log position, or the latest state) of this one',
  tag: 'versions',
  scope: 'run',
  params: sessionParams,
  body: z
    .strictObject({
      version: positiveInt.optional(),
      seq: positiveInt.optional(),
      as: sessionId.optional().describe('The new session id'),
    })
    .refine((b) => b.version === undefined || b.seq === undefined, {
      message: 'give version or seq, not both',
      path: ['seq'],
    })
    .optional(),
  status: 201,
  response: z.object({
    sessionId: z.string(),
    fromSessionId: z.string(),
    fromSeq: z.number().int(),
    fromVersion: z.number().int().optional(),
    workspace: z.string(),
    filesRestored: z.boolean(),
  }),
});

export const listVersions = route({
  method: 'GET',
  path: '/v1/sessions/:id/versions',
  operationId: 'listVersions',
  summary: "A session's versions (verified snapshots), oldest first",
  tag: 'versions',
  scope: 'read',
  params: sessionParams,
  response: z.object({ versions: z.array(versionRowSchema) }),
});

export const takeVersion = route({
  method: 'POST',
  path: '/v1/sessions/:id/versions',
  operationId: 'takeVersion',
  summary: 'Take a version of a session now, as its log stands',
  tag: 'versions',
  scope: 'run',
  params: sessionParams,
  body: z.strictObject({ label: z.string().min(1).max(200).optional() }).optional(),
  status: 201,
  response: versionRowSchema,
});

export const showVersion = route({
  method: 'GET',
  path: '/v1/sessions/:id/versions/:version',
  operationId: 'showVersion',
  summary: 'One version: its record and the session state it holds',
  tag: 'versions',
  scope: 'read',
  params: z.strictObject({ id: sessionId, version: positiveInt }),
  response: z.object({ version: versionRowSchema, state: z.record(z.string(), z.unknown()) }),
});

export const diffVersions = route({
  method: 'GET',
  path: '/v1/sessions/:id/diff',
  operationId: 'diffVersions',
  summary: 'What changed between two versions, or a version and now: a summary and the RFC 6902 patch',
  tag: 'versions',
  scope: 'read',
  params: sessionParams,
  query: z.strictObject({
    from: positiveInt,
    to: positiveInt.optional().describe('Default: the session now'),
  }),
  response: z.object({
    sessionId: z.string(),
    from: z.object({ version: z.number().int(), seq: z.number().int() }),
    to: z.object({ version: z.union([z.number().int(), z.literal('current')]), seq: z.number().int() }),
    patch: z.array(z.record(z.string(), z.unknown())),
    summary: z.record(z.string(), z.unknown()),
  }),
});

/** A workspace file changed between two versions. */
export const fileChangeView = z.object({
  path: z.string(),
  status: z.enum(['added', 'modified', 'deleted', 'type-changed']),
  binary: z.boolean().describe('Binary content: named only, no diff'),
  added: z.number().int().nonnegative().describe('Lines added'),
  removed: z.number().int().nonnegative().describe('Lines removed'),
  diff: z.string().optional().describe('Its unified diff (git format); absent for binary files and past the limits'),
  truncated: z
    .boolean()
    .describe('The diff was cut at `maxFileBytes`, or left out once the answer held `maxTotalBytes`'),
});

export const diffFiles = route({
  method: 'GET',
  path: '/v1/sessions/:id/diff/files',
  operationId: 'diffFiles',
  summary: 'The workspace files changed between two versions (or a version and now), with their unified diffs',
  description:
    'Each text file with its unified diff, cut at `maxFileBytes`; once the diffs reach `maxTotalBytes` later files are listed without theirs. Binary files are named only. `recorded` is false when a version holds no files (no workspace history).',
  tag: 'versions',
  scope: 'read',
  params: sessionParams,
  query: z.strictObject({
    from: positiveInt,
    to: positiveInt.optional().describe('Default: the session now'),
    maxFileBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(64 * 1024),
    maxTotalBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(8 * 1024 * 1024)
      .default(1024 * 1024),
  }),
  response: z.object({
    sessionId: z.string(),
    from: z.number().int(),
    to: z.union([z.number().int(), z.literal('current')]),
    recorded: z.boolean(),
    files: z.array(fileChangeView),
    omittedFiles: z.number().int().nonnegative().describe('Changed files past the 500 listed'),
  }),
});

export const exportSession = route({
  method: 'GET',
  path: '/v1/sessions/:id/export',
  operationId: 'exportSession',
  summary: 'The session as one file (JSON lines) that any store can import',
  description:
    'Its log, versions with their blobs, agents\u2019 transcripts and workspace history (docs/session-export.md).',
  tag: 'versions',
  scope: 'read',
  params: sessionParams,
  response: z.string(),
  produces: 'application/x-ndjson',
});

export const importSession = route({
  method: 'POST',
  path: '/v1/sessions/import',
  operationId: 'importSession',
  summary: 'Import a session export (the body, as sent by the export route) as a new session',
  tag: 'versions',
  scope: 'run',
  consumes: 'application/x-ndjson',
  query: z.strictObject({ as: sessionId.optional().describe('Import under another session id') }),
  status: 201,
  response: z.object({
    sessionId: z.string(),
    formatVersion: z.number().int(),
    events: z.number().int(),
    versions: z.number().int(),
    renumberedVersions: z.array(z.object({ from: z.number().int(), to: z.number().int() })),
    payloads: z.number().int().describe('Payload blobs (full values of shortened event fields) stored'),
    transcripts: z.number().int(),
    workspace: z.string().optional(),
    filesRestored: z.boolean(),
  }),
});

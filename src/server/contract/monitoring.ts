import { z } from 'zod';
import { metricsStateSchema, statisticsReportSchema } from '../../reports/index.ts';
import { safeName, sessionId } from './common.ts';
import { route } from './route.ts';

/** Agents and their transcripts, the full values of shortened event fields, statistics, alerts. */

const agentMetrics = metricsStateSchema.shape.agents.valueType;
const activeAlert = metricsStateSchema.shape.activeAlerts.valueType;

/** An agent of a session: its figures (the monitor's) and its conversation id. */
export const agentView = agentMetrics.extend({
  sdkSessionId: z.string().nullable().describe("Claude Code's session id of its conversation"),
});

export const listAgents = route({
  method: 'GET',
  path: '/v1/sessions/:id/agents',
  operationId: 'listAgents',
  summary: 'The agents of a session with their figures, in spawn order',
  tag: 'agents',
  scope: 'read',
  params: z.strictObject({ id: sessionId }),
  response: z.object({ agents: z.array(agentView) }),
});

const transcriptEntry = z.record(z.string(), z.unknown()).describe('A line of the transcript as Claude Code wrote it');

export const agentTranscript = route({
  method: 'GET',
  path: '/v1/sessions/:id/agents/:agentId/transcript',
  operationId: 'agentTranscript',
  summary: "An agent's SDK transcript: its conversation and its subagents'",
  tag: 'agents',
  scope: 'read',
  params: z.strictObject({ id: sessionId, agentId: safeName }),
  response: z.object({
    agentId: z.string(),
    sdkSessionId: z.string(),
    entries: z.array(transcriptEntry),
    subagents: z.array(z.object({ subpath: z.string(), entries: z.array(transcriptEntry) })),
  }),
});

export const getPayload = route({
  method: 'GET',
  path: '/v1/sessions/:id/payloads/:sha256',
  operationId: 'getPayload',
  summary: 'The full value of an event field the log shortened, by the digest its event names',
  description:
    'An event whose field was over `maxEventFieldBytes` keeps a preview and `truncated: [{ field, bytes, sha256, stored }]`; with `stored: true` the whole value (redacted like the event) is here, verified against `sha256`. Only the session\u2019s own payloads are served: `PAYLOAD_NOT_FOUND` for a digest it does not reference (another session\u2019s, or a value over `maxEventBytes`, which stays in the agent\u2019s transcript).',
  tag: 'agents',
  scope: 'read',
  params: z.strictObject({
    id: sessionId,
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest (64 lowercase hex digits)')
      .describe('The `sha256` of the event\u2019s `truncated` entry'),
  }),
  response: z.object({
    sessionId: z.string(),
    sha256: z.string(),
    bytes: z.number().int().nonnegative().describe('Bytes of `text` in UTF-8'),
    text: z.string().describe('The field\u2019s full JSON text (for a text field, the text itself)'),
  }),
});

export const getStatistics = route({
  method: 'GET',
  path: '/v1/statistics',
  operationId: 'statistics',
  summary: 'Costs, tokens, turns and tool calls over sessions, grouped (what `orchestrator stats` prints)',
  tag: 'monitoring',
  scope: 'read',
  query: z.strictObject({
    by: z.enum(['agent-type', 'workflow', 'day']).default('agent-type'),
    sessions: z.coerce.number().int().min(1).max(100_000).optional().describe('Only the newest N sessions'),
  }),
  response: statisticsReportSchema,
});

export const listAlerts = route({
  method: 'GET',
  path: '/v1/alerts',
  operationId: 'listAlerts',
  summary: 'Alerts raised and not cleared, across the newest sessions (or one session)',
  tag: 'monitoring',
  scope: 'read',
  query: z.strictObject({
    session: sessionId.optional(),
    severity: z.enum(['info', 'warning', 'error', 'critical']).optional().describe('At least this severe'),
    scan: z.coerce.number().int().min(1).max(10_000).default(1000),
  }),
  response: z.object({
    alerts: z.array(activeAlert.extend({ sessionId: z.string() })),
    scanned: z.number().int(),
  }),
});

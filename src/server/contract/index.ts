/**
 * The contract of the HTTP API: every route's method, path, scope and zod schemas. The server
 * registers its routes from it, the OpenAPI document is generated from it, and clients (the
 * dashboard, tests, integrations) import it for types and schemas. It imports zod and the read
 * models' schemas, never the server.
 */

import * as common from './common.ts';
import * as keys from './keys.ts';
import * as monitoring from './monitoring.ts';
import * as ops from './ops.ts';
import * as questions from './questions.ts';
import * as sessions from './sessions.ts';
import * as streams from './streams.ts';
import * as webhooks from './webhooks.ts';
import * as workflows from './workflows.ts';

export type { ApiScope, ControlReceipt, ErrorBody } from './common.ts';
export { API_SCOPES, errorBody, eventSchema, SEVERITY_NAMES } from './common.ts';
export type { ApiMethod, ApiRoute, DeepReadonly, RouteInput, RouteOutput } from './route.ts';
export { SESSION_STATUSES, sessionListRow, sessionView } from './sessions.ts';
export { common, keys, monitoring, ops, questions, sessions, streams, webhooks, workflows };

/** Every route of the API by operation id. */
export const API_ROUTES = {
  health: ops.health,
  ready: ops.ready,
  metrics: ops.metrics,
  registerWorkflow: workflows.registerWorkflow,
  listWorkflows: workflows.listWorkflows,
  showWorkflow: workflows.showWorkflow,
  validateWorkflow: workflows.validateWorkflow,
  workflowFormatSchema: workflows.workflowFormatSchema,
  workflowInputsSchema: workflows.workflowInputsSchema,
  startSession: sessions.startSession,
  listSessions: sessions.listSessions,
  showSession: sessions.showSession,
  cancelSession: sessions.cancelSession,
  pauseSession: sessions.pauseSession,
  resumeSession: sessions.resumeSession,
  forkSession: sessions.forkSession,
  listVersions: sessions.listVersions,
  takeVersion: sessions.takeVersion,
  showVersion: sessions.showVersion,
  diffVersions: sessions.diffVersions,
  diffFiles: sessions.diffFiles,
  exportSession: sessions.exportSession,
  importSession: sessions.importSession,
  listQuestions: questions.listQuestions,
  sessionQuestions: questions.sessionQuestions,
  answerQuestion: questions.answerQuestion,
  listAgents: monitoring.listAgents,
  agentTranscript: monitoring.agentTranscript,
  getPayload: monitoring.getPayload,
  statistics: monitoring.getStatistics,
  listAlerts: monitoring.listAlerts,
  sessionEvents: streams.sessionEvents,
  liveSessions: streams.liveSessions,
  liveSocket: streams.liveSocket,
  createWebhook: webhooks.createWebhook,
  listWebhooks: webhooks.listWebhooks,
  deleteWebhook: webhooks.deleteWebhook,
  listDeliveries: webhooks.listDeliveries,
  whoami: keys.whoami,
  createKey: keys.createKey,
  listKeys: keys.listKeys,
  revokeKey: keys.revokeKey,
} as const;

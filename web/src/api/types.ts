/**
 * The API's shapes as the page uses them. PROVISIONAL: mirrors src/server/contract of the API
 * branch until it lands here; then these become `z.infer` of the contract's schemas.
 */

export type ApiScope = 'read' | 'run' | 'approve' | 'admin';

export type SessionStatus =
  | 'created'
  | 'running'
  | 'paused'
  | 'awaiting_input'
  | 'rolling_back'
  | 'completed'
  | 'failed'
  | 'cancelled';

export const SESSION_STATUSES: readonly SessionStatus[] = [
  'created',
  'running',
  'paused',
  'awaiting_input',
  'rolling_back',
  'completed',
  'failed',
  'cancelled',
];

export interface SessionListRow {
  readonly sessionId: string;
  readonly lastSeq: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly name: string | null;
  readonly status: SessionStatus;
  readonly costUsd: number;
  readonly openQuestions: number;
  readonly running: boolean;
  readonly tokens?: number;
  readonly durationMs?: number | null;
}

export interface SessionList {
  readonly sessions: SessionListRow[];
  readonly nextCursor: string | null;
}

export interface QuestionView {
  readonly sessionId: string;
  readonly workflowId: string;
  readonly requestId: string;
  readonly kind: 'input' | 'approval';
  readonly prompt: string;
  readonly nodeId?: string;
  readonly agentId?: string;
  readonly seq: number;
}

export interface SessionView {
  readonly sessionId: string;
  readonly name: string | null;
  readonly status: SessionStatus;
  readonly lastSeq: number;
  readonly owner: { host: string; pid: number; since: string; here: boolean } | null;
  readonly workspace: string | null;
  readonly questions: QuestionView[];
  readonly report: Record<string, unknown>;
}

export interface ControlReceipt {
  readonly sessionId: string;
  readonly action: string;
  readonly controlId: string;
  readonly applied: 'now' | 'by-owner' | 'on-resume';
}

export interface WorkflowInput {
  readonly type: string;
  readonly required: boolean;
  readonly default?: unknown;
  readonly description?: string;
}

export interface WorkflowSummary {
  readonly name: string;
  readonly version: number;
  readonly description: string | null;
  readonly registeredAt: string;
  readonly registeredBy: string;
  readonly nodes: string[];
  readonly inputs: Record<string, WorkflowInput>;
}

export interface StartedSession {
  readonly sessionId: string;
  readonly workflowId: string;
  readonly status: string;
}

export interface VersionRow {
  readonly version: number;
  readonly seq: number;
  readonly label?: string | null;
  readonly createdAt?: string;
  readonly [key: string]: unknown;
}

export interface DiffView {
  readonly sessionId: string;
  readonly from: { version: number; seq: number };
  readonly to: { version: number | 'current'; seq: number };
  readonly patch: Record<string, unknown>[];
  readonly summary: Record<string, unknown>;
}

export interface ForkResult {
  readonly sessionId: string;
  readonly fromSessionId: string;
}

export interface ResumeResult {
  readonly sessionId: string;
  readonly mode: 'requested' | 'running-here';
}

/** Who the tab's key is (or `local` on a keyless loopback server). */
export interface Principal {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly string[];
}

export interface StatsRow {
  readonly key: string;
  readonly sessions: number;
  readonly costUsd: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
  readonly turns: number;
  readonly toolCalls: number;
  readonly errors: number;
  readonly agents: number;
  readonly [key: string]: unknown;
}

export interface StatsReport {
  readonly by: string;
  readonly rows: StatsRow[];
  readonly total: StatsRow;
}

import type { ErrorFacts } from './event.ts';

/** A span of a node's life on the timeline. */
export interface TimelineSpan {
  readonly kind: 'queued' | 'attempt' | 'retry_wait' | 'question';
  readonly attempt: number;
  readonly from: number;
  to: number | undefined;
  /** How an attempt ended; for a question, whether it was answered. */
  outcome: 'running' | 'completed' | 'failed' | 'interrupted' | 'cancelled' | 'answered' | 'closed' | undefined;
  readonly agentId?: string | undefined;
}

/** A question to a human (an input or an approval). */
export interface Question {
  readonly requestId: string;
  readonly kind: 'input' | 'approval';
  readonly prompt: string;
  readonly nodeId: string | undefined;
  readonly agentId: string | undefined;
  readonly workflowId: string | undefined;
  readonly seq: number;
  readonly ts: string;
  answer: { readonly value: unknown; readonly by: string | undefined; readonly ts: string } | undefined;
  closed: string | undefined;
}

/** An alert rule's current state. */
export interface AlertView {
  readonly key: string;
  readonly rule: string;
  severity: string;
  message: string;
  state: 'raised' | 'cleared';
  value: number | undefined;
  threshold: number | undefined;
  scope: string | undefined;
  scopeId: string | undefined;
  ts: string;
}

/** A line of the audit trail. */
export interface AuditEntry {
  readonly seq: number;
  readonly ts: string;
  readonly type: string;
  /** Who acted (`agent:…`, `api:…`, `cli`, `claude-code`, `policy`, `human`…). */
  readonly by: string;
  readonly what: string;
  readonly outcome: string | undefined;
}

/** A stored version of the session. */
export interface VersionMark {
  readonly version: number;
  readonly seq: number;
  readonly label: string | undefined;
  readonly ts: string;
}

/** The workflow run of the session. */
export interface WorkflowView {
  readonly workflowId: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly startedAt: string;
  ended: { readonly status: string; readonly ts: string; readonly error: ErrorFacts | undefined } | undefined;
  paused: boolean;
  cancelRequested: boolean;
  rollingBack: boolean;
}

/** Section revisions: each changes when its section does. */
export interface Revisions {
  graph: number;
  nodes: number;
  timeline: number;
  agents: number;
  questions: number;
  figures: number;
  audit: number;
  versions: number;
  workflow: number;
}

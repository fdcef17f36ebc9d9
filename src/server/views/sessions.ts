import type { z } from 'zod';
import { OrchestratorError } from '../../errors/index.ts';
import type { EventLog } from '../../log/index.ts';
import { leaseIsLive, type Orchestrator } from '../../orchestrator/index.ts';
import type { LeaseStore, SessionSummary } from '../../store/index.ts';
import type { SessionState, WorkflowState } from '../../workflow/index.ts';
import type { questionView, SESSION_STATUSES, sessionListRow, sessionView } from '../contract/sessions.ts';
import { type CachedSession, SessionCache } from './session-cache.ts';

type SessionStatus = (typeof SESSION_STATUSES)[number];
type SessionViewBody = z.input<typeof sessionView>;
type SessionListRow = z.input<typeof sessionListRow>;
type QuestionView = z.input<typeof questionView>;

/** Options of a listing of sessions. */
export interface ListOptions {
  readonly status?: SessionStatus | undefined;
  readonly workflow?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
  /** Sessions looked at, at most, to fill the page. */
  readonly scan: number;
}

/**
 * The API's views of sessions, composed from the read models the cache keeps current (the
 * reports area's report, the workflow reducer's state) plus who runs the session now.
 */
export class SessionViews {
  readonly #cache: SessionCache;
  readonly #log: EventLog;
  readonly #leases: LeaseStore;
  readonly #orchestrator: Orchestrator;

  constructor(options: { orchestrator: Orchestrator; max?: number }) {
    this.#orchestrator = options.orchestrator;
    this.#log = options.orchestrator.log;
    this.#leases = options.orchestrator.store;
    this.#cache = new SessionCache(
      { lastSeq: (id) => this.#log.lastSeq(id), readAll: (id, from) => this.#log.readAll(id, from) },
      { max: options.max },
    );
  }

  /**
   * The cached models of a session.
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  async session(sessionId: string, knownLastSeq?: number): Promise<CachedSession> {
    const cached = await this.#cache.get(sessionId, knownLastSeq);
    if (cached === undefined) {
      throw new OrchestratorError('SESSION_NOT_FOUND', `no session "${sessionId}"`, { details: { sessionId } });
    }
    return cached;
  }

  /**
   * `GET /v1/sessions/{id}` as JSON text, rendered once per log position (a polling dashboard
   * or a benchmark asks for the same answer many times between two events).
   */
  async showJson(sessionId: string): Promise<string> {
    const cached = await this.session(sessionId);
    const owner = await this.#owner(sessionId);
    const key = `show:${owner === null ? '-' : `${owner.host}:${owner.pid}:${owner.here}`}`;
    let text = cached.rendered.get(key);
    if (text === undefined) {
      text = JSON.stringify(this.#show(cached, owner));
      cached.rendered.set(key, text);
    }
    return text;
  }

  /** Sessions newest first, filtered, from `cursor`; `nextCursor` carries on where the scan stopped. */
  async list(options: ListOptions): Promise<{ sessions: SessionListRow[]; nextCursor: string | null }> {
    const rows: SessionListRow[] = [];
    let before = options.cursor;
    let scanned = 0;
    const page = Math.min(200, Math.max(options.limit, 20));
    for (;;) {
      const listed = await this.#log.listSessions({ limit: page, ...(before !== undefined && { before }) });
      for (const summary of listed) {
        scanned++;
        before = summary.sessionId;
        const row = await this.row(summary);
        if (row === undefined) continue;
        if (options.status !== undefined && row.status !== options.status) continue;
        if (options.workflow !== undefined && row.name !== options.workflow) continue;
        rows.push(row);
        if (rows.length >= options.limit || scanned >= options.scan) {
          const more = listed.at(-1)?.sessionId !== summary.sessionId || listed.length === page;
          return { sessions: rows, nextCursor: more ? summary.sessionId : null };
        }
      }
      if (listed.length < page) return { sessions: rows, nextCursor: null };
    }
  }

  /** The list row of a session the store listed (undefined when it has no events any more). */
  async row(summary: SessionSummary): Promise<SessionListRow | undefined> {
    const cached = await this.#cache.get(summary.sessionId, summary.lastSeq);
    if (cached === undefined) return undefined;
    const status = statusOf(cached.state);
    return {
      ...summary,
      name: nameOf(cached),
      status,
      costUsd: cached.report.metrics.session.costUsd,
      openQuestions: questionsOf(cached.state).length,
      running: isOpen(status) && (await this.#owner(summary.sessionId)) !== null,
    };
  }

  /** Open questions of the newest `scan` sessions that have any, newest session first. */
  async questions(scan: number): Promise<{ questions: QuestionView[]; scanned: number }> {
    const questions: QuestionView[] = [];
    const scanned = await this.#scan(scan, (cached) => {
      questions.push(...questionsOf(cached.state));
    });
    return { questions, scanned };
  }

  /** Calls `visit` with each of the newest `scan` sessions' models; returns how many were looked at. */
  async #scan(scan: number, visit: (cached: CachedSession) => void): Promise<number> {
    let before: string | undefined;
    let scanned = 0;
    for (;;) {
      const listed = await this.#log.listSessions({ limit: 200, ...(before !== undefined && { before }) });
      for (const summary of listed) {
        if (scanned >= scan) return scanned;
        scanned++;
        const cached = await this.#cache.get(summary.sessionId, summary.lastSeq);
        if (cached !== undefined) visit(cached);
      }
      if (listed.length < 200) return scanned;
      before = listed.at(-1)?.sessionId;
    }
  }

  /** Visits the newest `scan` sessions (alerts, and anything else summed over sessions). */
  scan(scan: number, visit: (cached: CachedSession) => void): Promise<number> {
    return this.#scan(scan, visit);
  }

  /** Who runs the session now: this process, another live one, or nobody. */
  async #owner(sessionId: string): Promise<SessionViewBody['owner']> {
    const here = this.#orchestrator.handle(sessionId) !== undefined;
    const lease = await this.#leases.getLease(sessionId);
    if (lease === undefined || !(here || leaseIsLive(lease))) return null;
    return { host: lease.host, pid: lease.pid, since: lease.acquiredAt, here };
  }

  #show(cached: CachedSession, owner: SessionViewBody['owner']): SessionViewBody {
    const { state } = cached;
    return {
      sessionId: cached.sessionId,
      name: nameOf(cached),
      status: statusOf(state),
      lastSeq: cached.lastSeq,
      owner,
      workspace: state.workspace ?? null,
      workflows: Object.values(state.workflows).map(workflowOf),
      questions: questionsOf(state),
      report: cached.report,
    };
  }
}

/** The session's status: its latest workflow's, or `created` before one started. */
export function statusOf(state: SessionState): SessionStatus {
  const latest = Object.values(state.workflows).at(-1);
  return latest === undefined ? 'created' : latest.status;
}

/** True while the session's workflow has not ended. */
export function isOpen(status: SessionStatus): boolean {
  return status !== 'completed' && status !== 'failed' && status !== 'cancelled';
}

function nameOf(cached: CachedSession): string | null {
  return cached.report.metrics.name ?? Object.values(cached.state.workflows).at(-1)?.name ?? null;
}

/** The open questions of a session, oldest first. */
export function questionsOf(state: SessionState): QuestionView[] {
  const out: QuestionView[] = [];
  for (const wf of Object.values(state.workflows)) {
    for (const request of Object.values(wf.inputRequests)) {
      out.push({
        sessionId: state.sessionId,
        workflowId: wf.workflowId,
        requestId: request.requestId,
        kind: request.kind,
        prompt: request.prompt,
        ...(request.nodeId !== undefined && { nodeId: request.nodeId }),
        ...(request.agentId !== undefined && { agentId: request.agentId }),
        seq: request.seq,
      });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

function workflowOf(wf: WorkflowState): SessionViewBody['workflows'][number] {
  return {
    workflowId: wf.workflowId,
    name: wf.name,
    status: wf.status,
    paused: wf.paused,
    cancelRequested: wf.cancelRequested,
    startedAt: wf.startedAt,
    ...(wf.endedAt !== undefined && { endedAt: wf.endedAt }),
    ...(wf.error !== undefined && { error: wf.error }),
    inputs: wf.inputs,
    nodes: Object.values(wf.nodes).map((node) => ({
      id: node.id,
      status: node.status,
      attempts: node.attempts,
      ...(node.agentId !== undefined && { agentId: node.agentId }),
      ...(node.cached !== undefined && { cached: node.cached }),
      ...(node.error !== undefined && { error: node.error }),
      ...(node.output !== undefined && { output: node.output }),
    })),
  };
}

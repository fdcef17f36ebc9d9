import type { z } from 'zod';
import { OrchestratorError } from '../../errors/index.ts';
import type { EventLog } from '../../log/index.ts';
import { monitorSettings } from '../../monitor/index.ts';
import type { Orchestrator } from '../../orchestrator/index.ts';
import {
  budgetLines,
  finishReport,
  type OwnerFacts,
  ownerVerdict,
  type ReportSource,
  type RowStatus,
  reportSource,
  rowMatches,
  rowOfReport,
  type SessionReport,
} from '../../reports/index.ts';
import type { SessionSummary } from '../../store/index.ts';
import type { CompiledBudget, SessionState, WorkflowState } from '../../workflow/index.ts';
import type { DeepReadonly } from '../contract/route.ts';
import type { questionView, sessionListRow, sessionView } from '../contract/sessions.ts';
import { type CachedSession, SessionCache } from './session-cache.ts';

type SessionViewBody = DeepReadonly<z.input<typeof sessionView>>;
type SessionListRow = DeepReadonly<z.input<typeof sessionListRow>>;
type QuestionView = DeepReadonly<z.input<typeof questionView>>;

/** Options of a listing of sessions. */
export interface ListOptions {
  readonly status?: string | undefined;
  readonly workflow?: string | undefined;
  /** Text the session id or workflow name contains (ignoring case). */
  readonly q?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
  /** Sessions looked at, at most, to fill the page. */
  readonly scan: number;
}

/** Statuses after which a session's workflow does nothing more. */
const ENDED = new Set<string>(['completed', 'failed', 'cancelled']);

/**
 * The API's views of sessions, made by the reports area's functions (its report, its rows) from
 * drafts the cache keeps current, plus who runs each session now and the questions it asks.
 */
export class SessionViews {
  readonly #cache: SessionCache;
  readonly #log: EventLog;
  readonly #source: ReportSource;
  readonly #orchestrator: Orchestrator;
  /** The configured global budget: what sessions this server runs are held to. */
  readonly #budget: CompiledBudget | undefined;

  constructor(options: { orchestrator: Orchestrator; max?: number }) {
    this.#orchestrator = options.orchestrator;
    this.#budget = monitorSettings(options.orchestrator.config).budget;
    this.#log = options.orchestrator.log;
    this.#source = reportSource(this.#log, { leases: options.orchestrator.store });
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
   * The session's report now (status, owner, figures).
   * @throws OrchestratorError `SESSION_NOT_FOUND`
   */
  async report(sessionId: string): Promise<{ cached: CachedSession; report: SessionReport }> {
    // The owner is read before the events, as the reports area does: an owner that ends the
    // workflow meanwhile is seen alive with a finished workflow, never dead with an unfinished one.
    const owner = await this.#owner(sessionId);
    const cached = await this.session(sessionId);
    return { cached, report: finishReport(cached.draft, owner) };
  }

  /**
   * `GET /v1/sessions/{id}` as JSON text, rendered once per log position and owner (a polling
   * dashboard or a benchmark asks for the same answer many times between two events).
   */
  async showJson(sessionId: string): Promise<string> {
    const owner = await this.#owner(sessionId);
    const cached = await this.session(sessionId);
    const here = this.#orchestrator.handle(sessionId) !== undefined;
    const lease = owner?.lease;
    const key = `show:${owner?.alive ?? '-'}:${lease?.token ?? '-'}:${lease?.expiresAt ?? '-'}:${here}`;
    let text = cached.rendered.get(key);
    if (text === undefined) {
      text = JSON.stringify(this.#show(cached, finishReport(cached.draft, owner), here));
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
        const filter = {
          statuses: options.status === undefined ? undefined : [options.status],
          workflow: options.workflow,
          query: options.q,
        };
        if (!rowMatches(row, filter)) continue;
        rows.push(row);
        if (rows.length >= options.limit || scanned >= options.scan) {
          const more = listed.at(-1)?.sessionId !== summary.sessionId || listed.length === page;
          return { sessions: rows, nextCursor: more ? summary.sessionId : null };
        }
      }
      if (listed.length < page) return { sessions: rows, nextCursor: null };
    }
  }

  /** The list row of a session the store listed: the reports area's row, and its open questions. */
  async row(summary: SessionSummary): Promise<SessionListRow> {
    try {
      const owner = await this.#owner(summary.sessionId);
      const cached = await this.session(summary.sessionId, summary.lastSeq);
      const report = finishReport(cached.draft, owner);
      return {
        ...rowOfReport(summary, report, cached.model?.kind === 'scripted'),
        openQuestions: questionsOf(cached.draft.state).length,
      };
    } catch (error) {
      const failure = error instanceof OrchestratorError ? error : undefined;
      if (failure === undefined || failure.code.startsWith('STORE_UNAVAILABLE') || failure.code === 'STORE_CLOSED') {
        throw error;
      }
      const status: RowStatus = 'unreadable';
      return { ...summary, status, unreadable: failure.code, error: failure.message, openQuestions: 0 };
    }
  }

  /** Open questions of the newest `scan` sessions, newest session first. */
  async questions(scan: number): Promise<{ questions: QuestionView[]; scanned: number }> {
    const questions: QuestionView[] = [];
    const scanned = await this.scan(scan, (cached) => {
      questions.push(...questionsOf(cached.draft.state));
    });
    return { questions, scanned };
  }

  /** Calls `visit` with each of the newest `scan` sessions' models; returns how many were looked at. */
  async scan(scan: number, visit: (cached: CachedSession) => void): Promise<number> {
    let before: string | undefined;
    let scanned = 0;
    for (;;) {
      const listed = await this.#log.listSessions({ limit: 200, ...(before !== undefined && { before }) });
      for (const summary of listed) {
        if (scanned >= scan) return scanned;
        scanned++;
        const cached = await this.#cache.get(summary.sessionId, summary.lastSeq).catch(() => undefined);
        if (cached !== undefined) visit(cached);
      }
      if (listed.length < 200) return scanned;
      before = listed.at(-1)?.sessionId;
    }
  }

  async #owner(sessionId: string): Promise<OwnerFacts | undefined> {
    // A run of this process: alive by definition, its lease known without reading the store.
    const own =
      this.#orchestrator.handle(sessionId) === undefined ? undefined : this.#orchestrator.leases.lease(sessionId);
    if (own !== undefined) return { lease: own, alive: true };
    return ownerVerdict(this.#source, sessionId);
  }

  #show(cached: CachedSession, report: SessionReport, here: boolean): SessionViewBody {
    const { state } = cached.draft;
    return {
      sessionId: cached.sessionId,
      workflow: Object.values(state.workflows).at(-1)?.name ?? null,
      status: report.status,
      resumable: report.resumable,
      lastSeq: cached.lastSeq,
      owner: report.owner ? { ...report.owner, here } : null,
      workspace: state.workspace ?? null,
      workflows: Object.values(state.workflows).map(workflowOf),
      questions: questionsOf(state),
      budgets: budgetLines(state, report.metrics, this.#budget),
      report,
    };
  }
}

/** True while a session's workflow can still be steered (not completed, failed or cancelled). */
export function isOpen(status: string): boolean {
  return !ENDED.has(status) && status !== 'empty' && status !== 'unreadable';
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

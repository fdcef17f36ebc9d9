import { AgentLedger, type FigurePoint } from './agents.ts';
import { dataOf, errorOf, type LogEvent, num, obj, str, timeOf } from './event.ts';
import {
  addedDefinitions,
  changesOf,
  definitionNodes,
  type GraphNode,
  nodeFromDefinition,
  requiredByOf,
  skippedIds,
} from './graph.ts';
import { applyNodeEvent, spansOf } from './timeline.ts';
import type { AgentView } from './transcript.ts';
import type { AlertView, AuditEntry, Question, Revisions, TimelineSpan, VersionMark, WorkflowView } from './views.ts';

/**
 * Everything the session page shows, kept up to date one event at a time (O(1) an event, no
 * re-reading of the log): the workflow graph and its node states, a timeline of attempts and
 * waits, each agent's transcript, figures over time, questions, alerts, budgets, the audit
 * trail and the versions. The page's stream replays the log from the start and then follows
 * it live, so this one path serves both. Each section has a revision number that changes
 * when the section does, so views redraw only what changed.
 */
export class SessionModel {
  readonly sessionId: string;
  name: string | undefined;
  createdAt: string | undefined;
  workflow: WorkflowView | undefined;
  readonly nodes = new Map<string, GraphNode>();
  readonly timeline = new Map<string, TimelineSpan[]>();
  readonly questions = new Map<string, Question>();
  readonly alerts = new Map<string, AlertView>();
  readonly budgets: { scope: string; key: string; limitUsd: number; spentUsd: number; action: string; ts: string }[] =
    [];
  readonly audit: AuditEntry[] = [];
  readonly versions: VersionMark[] = [];
  readonly memoryKeys = new Set<string>();
  lastSeq = 0;
  firstTs: number | undefined;
  lastTs: number | undefined;
  readonly rev: Revisions = {
    graph: 0,
    nodes: 0,
    timeline: 0,
    agents: 0,
    questions: 0,
    figures: 0,
    audit: 0,
    versions: 0,
    workflow: 0,
  };
  /** The agents, their transcripts and the spend. */
  readonly spend = new AgentLedger(this.rev);

  /** The agents of the session by id. */
  get agents(): ReadonlyMap<string, AgentView> {
    return this.spend.agents;
  }
  get totalCostUsd(): number {
    return this.spend.totalCostUsd;
  }
  get totalTokens(): number {
    return this.spend.totalTokens;
  }
  get series(): readonly FigurePoint[] {
    return this.spend.series;
  }
  get toolCalls(): ReadonlyMap<string, number> {
    return this.spend.toolCalls;
  }
  get errors(): ReadonlyMap<string, number> {
    return this.spend.errors;
  }

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  /** Applies events in order; an event at or below the last seq seen is ignored (a replayed duplicate). */
  apply(events: Iterable<LogEvent>): void {
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue;
      this.lastSeq = event.seq;
      const t = timeOf(event);
      if (Number.isFinite(t)) {
        this.firstTs ??= t;
        this.lastTs = t;
      }
      this.#one(event, dataOf(event), t);
    }
  }

  /** The workflow's status as a person reads it (a question open: awaiting input; paused...). */
  status(): string {
    const wf = this.workflow;
    if (!wf) return 'created';
    if (wf.ended) return wf.ended.status;
    if (wf.rollingBack) return 'rolling_back';
    if (wf.paused) return 'paused';
    for (const question of this.questions.values()) {
      if (!question.answer && !question.closed) return 'awaiting_input';
    }
    return 'running';
  }

  /** Questions still waiting for an answer, oldest first. */
  openQuestions(): Question[] {
    return [...this.questions.values()].filter((q) => !q.answer && !q.closed).sort((a, b) => a.seq - b.seq);
  }

  #one(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
    switch (event.type) {
      case 'session.created':
        this.name = str(d, 'name');
        this.createdAt = event.ts;
        this.rev.workflow++;
        if (str(d, 'by')) this.#audit(event, str(d, 'by') as string, 'start the session', undefined);
        return;
      case 'session.forked':
      case 'session.imported': {
        // Who made this session from another: the key of an API call, else the local user.
        const from = `${str(d, 'fromSessionId') ?? '?'}${num(d, 'fromVersion') ? ` version ${num(d, 'fromVersion')}` : ''}`;
        const verb = event.type === 'session.forked' ? 'fork from' : 'import from';
        this.#audit(event, str(d, 'by') ?? 'user', `${verb} ${from}`, undefined);
        return;
      }
      case 'workflow.started':
        this.#started(event, d);
        return;
      case 'workflow.modified':
        this.#modified(event, d);
        return;
      case 'workflow.paused':
      case 'workflow.resumed':
      case 'workflow.cancel_requested':
      case 'workflow.rolling_back':
      case 'workflow.completed':
        this.#workflowState(event, d);
        return;
      case 'node.queued':
      case 'node.started':
      case 'node.completed':
      case 'node.failed':
      case 'node.interrupted':
      case 'node.skipped':
      case 'node.cancelled':
        this.#node(event, d, t);
        return;
      case 'input.requested':
      case 'input.closed':
      case 'user.input':
        this.#question(event, d, t);
        return;
      case 'agent.spawned':
      case 'agent.state_changed':
      case 'agent.progress':
      case 'agent.message':
      case 'agent.tool_use':
      case 'agent.tool_result':
      case 'agent.retry':
      case 'agent.usage':
      case 'agent.completed':
      case 'agent.failed':
        this.spend.agent(event, d, t);
        if (event.type === 'agent.spawned') {
          const agent = this.spend.agents.get(str(d, 'agentId') ?? '');
          const node = agent?.nodeId !== undefined ? this.nodes.get(agent.nodeId) : undefined;
          if (agent && agent.attempt === undefined && node) agent.attempt = node.attempts;
        }
        return;
      case 'model.request':
        this.spend.modelRequest(d, t);
        return;
      case 'security.decision':
        this.#decision(event, d);
        return;
      case 'security.granted':
      case 'security.revoked':
        this.#audit(
          event,
          str(d, 'by') ?? '?',
          `${event.type === 'security.granted' ? 'grant' : 'revoke'} ${str(d, 'rule')} for ${str(d, 'agentType')}`,
          undefined,
        );
        return;
      case 'control.requested':
        this.#audit(
          event,
          str(d, 'by') ?? '?',
          `${str(d, 'action')}${str(d, 'reason') ? `: ${str(d, 'reason')}` : ''}`,
          'requested',
        );
        return;
      case 'control.rejected':
        this.#audit(event, 'owner', `control ${str(d, 'controlId')}`, `rejected: ${str(d, 'reason')}`);
        return;
      case 'session.versioned':
        this.versions.push({
          version: num(d, 'version') ?? 0,
          seq: num(d, 'seq') ?? event.seq,
          label: str(d, 'label'),
          ts: event.ts,
        });
        this.rev.versions++;
        // Versions taken on request name who asked; automatic ones are not audited.
        if (str(d, 'by'))
          this.#audit(event, str(d, 'by') as string, `take version ${num(d, 'version') ?? '?'}`, undefined);
        return;
      case 'memory.set':
        if (str(d, 'key')) this.memoryKeys.add(str(d, 'key') as string);
        return;
      case 'system.alert':
        this.#alert(event, d);
        return;
      case 'budget.exhausted':
        this.budgets.push({
          scope: str(d, 'scope') ?? '?',
          key: str(d, 'key') ?? '?',
          limitUsd: num(d, 'limitUsd') ?? 0,
          spentUsd: num(d, 'spentUsd') ?? 0,
          action: str(d, 'action') ?? '?',
          ts: event.ts,
        });
        this.rev.figures++;
        return;
      default:
        return;
    }
  }

  #started(event: LogEvent, d: Readonly<Record<string, unknown>>): void {
    const workflowId = str(d, 'workflowId') ?? 'workflow';
    this.workflow = {
      workflowId,
      name: str(d, 'name') ?? workflowId,
      inputs: obj(d, 'inputs') ?? {},
      startedAt: event.ts,
      ended: undefined,
      paused: false,
      cancelRequested: false,
      rollingBack: false,
    };
    for (const definition of definitionNodes(d.definition)) {
      const node = nodeFromDefinition(workflowId, definition);
      if (node && !this.nodes.has(node.id)) this.nodes.set(node.id, node);
    }
    this.rev.graph++;
    this.rev.nodes++;
    this.rev.workflow++;
  }

  #modified(event: LogEvent, d: Readonly<Record<string, unknown>>): void {
    const workflowId = str(d, 'workflowId') ?? this.workflow?.workflowId ?? 'workflow';
    const by = str(d, 'by') ?? '?';
    const agentType = str(d, 'agentType');
    const what: string[] = [];
    for (const change of changesOf(d)) {
      for (const definition of addedDefinitions(change)) {
        const node = nodeFromDefinition(workflowId, definition, { by, agentType, seq: event.seq });
        if (!node || this.nodes.has(node.id)) continue;
        this.nodes.set(node.id, node);
        for (const target of requiredByOf(definition)) {
          const downstream = this.nodes.get(target);
          if (downstream && !downstream.dependsOn.includes(node.id)) {
            downstream.dependsOn.push(node.id);
            downstream.rev++;
          }
        }
        what.push(`add node ${node.id}`);
      }
      const skipped = skippedIds(change);
      if (skipped.ids.length > 0)
        what.push(`skip ${skipped.ids.join(', ')}${skipped.reason ? ` (${skipped.reason})` : ''}`);
    }
    this.#audit(event, by, what.join('; ') || 'modify the workflow', undefined);
    this.rev.graph++;
    this.rev.nodes++;
  }

  #workflowState(event: LogEvent, d: Readonly<Record<string, unknown>>): void {
    const wf = this.workflow;
    if (!wf) return;
    if (event.type === 'workflow.paused') wf.paused = true;
    else if (event.type === 'workflow.resumed') wf.paused = false;
    else if (event.type === 'workflow.cancel_requested') wf.cancelRequested = true;
    else if (event.type === 'workflow.rolling_back') wf.rollingBack = true;
    else if (event.type === 'workflow.completed') {
      wf.ended = { status: str(d, 'status') ?? 'completed', ts: event.ts, error: errorOf(d) };
      wf.rollingBack = false;
      wf.paused = false;
      // Spans still open end with the run.
      const t = timeOf(event);
      for (const spans of this.timeline.values()) for (const span of spans) if (span.to === undefined) span.to = t;
      this.rev.timeline++;
    }
    this.rev.workflow++;
  }

  #node(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
    const nodeId = str(d, 'nodeId');
    if (nodeId === undefined) return;
    let node = this.nodes.get(nodeId);
    if (!node) {
      // A node the definition did not show (an older server's log): shown anyway.
      node = nodeFromDefinition(str(d, 'workflowId') ?? '', { id: nodeId }) as GraphNode;
      this.nodes.set(nodeId, node);
      this.rev.graph++;
    }
    applyNodeEvent(node, spansOf(this.timeline, nodeId), event.type, d, t);
    this.rev.nodes++;
    this.rev.timeline++;
  }

  #spans(nodeId: string): TimelineSpan[] {
    return spansOf(this.timeline, nodeId);
  }

  #question(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
    const requestId = str(d, 'requestId');
    if (requestId === undefined) return;
    if (event.type === 'input.requested') {
      const nodeId = str(d, 'nodeId');
      const question: Question = {
        requestId,
        kind: str(d, 'kind') === 'approval' ? 'approval' : 'input',
        prompt: str(d, 'prompt') ?? '',
        nodeId,
        agentId: str(d, 'agentId'),
        workflowId: str(d, 'workflowId'),
        seq: event.seq,
        ts: event.ts,
        answer: undefined,
        closed: undefined,
      };
      this.questions.set(requestId, question);
      if (nodeId !== undefined) {
        const node = this.nodes.get(nodeId);
        if (node?.status === 'running') {
          node.status = 'awaiting_input';
          node.rev++;
          this.rev.nodes++;
        }
        this.#spans(nodeId).push({
          kind: 'question',
          attempt: num(d, 'attempt') ?? node?.attempts ?? 1,
          from: t,
          to: undefined,
          outcome: undefined,
        });
        this.rev.timeline++;
      }
      if (question.agentId !== undefined) {
        this.spend.entry(question.agentId, {
          kind: 'question',
          seq: event.seq,
          ts: event.ts,
          prompt: question.prompt,
          requestId,
        });
      }
    } else {
      const question = this.questions.get(requestId);
      if (!question || question.answer || question.closed) return;
      if (event.type === 'user.input') question.answer = { value: d.value, by: str(d, 'by'), ts: event.ts };
      else question.closed = str(d, 'reason') ?? 'closed';
      if (question.nodeId !== undefined) {
        const span = this.#spans(question.nodeId).findLast((s) => s.kind === 'question' && s.to === undefined);
        if (span) {
          span.to = t;
          span.outcome = event.type === 'user.input' ? 'answered' : 'closed';
        }
        const node = this.nodes.get(question.nodeId);
        if (node?.status === 'awaiting_input' && !this.#hasOpenQuestion(node.id)) {
          node.status = 'running';
          node.rev++;
          this.rev.nodes++;
        }
        this.rev.timeline++;
      }
      if (event.type === 'user.input') {
        this.#audit(
          event,
          str(d, 'by') ?? '?',
          `answer ${question.kind} ${question.nodeId ?? requestId}`,
          answerSummary(d.value),
        );
      }
    }
    this.rev.questions++;
  }

  #hasOpenQuestion(nodeId: string): boolean {
    for (const q of this.questions.values()) if (q.nodeId === nodeId && !q.answer && !q.closed) return true;
    return false;
  }

  #decision(event: LogEvent, d: Readonly<Record<string, unknown>>): void {
    const agentId = str(d, 'agentId') ?? '';
    const decision = {
      decision: str(d, 'decision') ?? '?',
      by: str(d, 'by') ?? '?',
      rule: str(d, 'rule'),
      reason: str(d, 'reason') ?? '',
    };
    const tool = str(d, 'tool') ?? '?';
    this.spend.decision(event, agentId, str(d, 'toolUseId'), tool, decision);
    this.#audit(
      event,
      decision.by,
      `${tool} for ${agentLabel(this.agents.get(agentId)) ?? agentId}${decision.rule ? ` (${decision.rule})` : ''}`,
      decision.decision,
    );
    this.rev.agents++;
  }

  #alert(event: LogEvent, d: Readonly<Record<string, unknown>>): void {
    const rule = str(d, 'rule') ?? '?';
    const scopeId = str(d, 'scopeId');
    const key = `${rule}|${scopeId ?? ''}`;
    this.alerts.set(key, {
      key,
      rule,
      severity: str(d, 'severity') ?? 'info',
      message: str(d, 'message') ?? '',
      state: str(d, 'state') === 'cleared' ? 'cleared' : 'raised',
      value: num(d, 'value'),
      threshold: num(d, 'threshold'),
      scope: str(d, 'scope'),
      scopeId,
      ts: event.ts,
    });
    this.rev.figures++;
  }

  #audit(event: LogEvent, by: string, what: string, outcome: string | undefined): void {
    this.audit.push({ seq: event.seq, ts: event.ts, type: event.type, by, what, outcome });
    this.rev.audit++;
  }
}

/** `reviewer on review #1`: an agent as people know it. */
function agentLabel(agent: AgentView | undefined): string | undefined {
  if (!agent) return undefined;
  return `${agent.agentType}${agent.nodeId ? ` on ${agent.nodeId}` : ''}${agent.attempt ? ` #${agent.attempt}` : ''}`;
}

function answerSummary(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'approved' in value) {
    return (value as { approved: unknown }).approved === true ? 'approved' : 'rejected';
  }
  const text = JSON.stringify(value) ?? '';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

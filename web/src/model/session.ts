import { bool, dataOf, type ErrorFacts, errorOf, type LogEvent, num, obj, str, strings, timeOf } from './event.ts';
import {
  addedDefinitions,
  changesOf,
  definitionNodes,
  type GraphNode,
  type NodeStatus,
  nodeFromDefinition,
  requiredByOf,
  skippedIds,
  TERMINAL,
} from './graph.ts';
import type { AgentState, AgentView, TranscriptEntry } from './transcript.ts';

/**
 * Everything the session page shows, kept up to date one event at a time (O(1) an event, no
 * re-reading of the log): the workflow graph and its node states, a timeline of attempts and
 * waits, each agent's transcript, figures over time, questions, alerts, budgets, the audit
 * trail and the versions. The page's stream replays the log from the start and then follows
 * it live, so this one path serves both. Each section has a revision number that changes
 * when the section does, so views redraw only what changed.
 */

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

/** One point of the running totals. */
export interface FigurePoint {
  readonly t: number;
  readonly costUsd: number;
  readonly tokens: number;
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

export class SessionModel {
  readonly sessionId: string;
  name: string | undefined;
  createdAt: string | undefined;
  workflow: WorkflowView | undefined;
  readonly nodes = new Map<string, GraphNode>();
  readonly timeline = new Map<string, TimelineSpan[]>();
  readonly agents = new Map<string, AgentView>();
  readonly questions = new Map<string, Question>();
  readonly series: FigurePoint[] = [];
  readonly toolCalls = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly alerts = new Map<string, AlertView>();
  readonly budgets: { scope: string; key: string; limitUsd: number; spentUsd: number; action: string; ts: string }[] =
    [];
  readonly audit: AuditEntry[] = [];
  readonly versions: VersionMark[] = [];
  readonly memoryKeys = new Set<string>();
  totalCostUsd = 0;
  totalTokens = 0;
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
        return;
      case 'workflow.started':
        return this.#started(event, d);
      case 'workflow.modified':
        return this.#modified(event, d);
      case 'workflow.paused':
      case 'workflow.resumed':
      case 'workflow.cancel_requested':
      case 'workflow.rolling_back':
      case 'workflow.completed':
        return this.#workflowState(event, d);
      case 'node.queued':
      case 'node.started':
      case 'node.completed':
      case 'node.failed':
      case 'node.interrupted':
      case 'node.skipped':
      case 'node.cancelled':
        return this.#node(event, d, t);
      case 'input.requested':
      case 'input.closed':
      case 'user.input':
        return this.#question(event, d, t);
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
        return this.#agent(event, d, t);
      case 'model.request':
        return this.#modelRequest(event, d, t);
      case 'security.decision':
        return this.#decision(event, d);
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
        return;
      case 'memory.set':
        if (str(d, 'key')) this.memoryKeys.add(str(d, 'key') as string);
        return;
      case 'system.alert':
        return this.#alert(event, d);
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
    const attempt = num(d, 'attempt') ?? node.attempts;
    const spans = this.#spans(nodeId);
    const open = spans.at(-1);
    const closeOpen = (outcome: TimelineSpan['outcome']) => {
      if (open && open.to === undefined && open.kind !== 'question') {
        open.to = t;
        if (open.kind === 'attempt') open.outcome = outcome;
      }
    };
    let status: NodeStatus = node.status;
    switch (event.type) {
      case 'node.queued':
        closeOpen(undefined);
        spans.push({ kind: 'queued', attempt, from: t, to: undefined, outcome: undefined });
        status = 'queued';
        break;
      case 'node.started':
        closeOpen(undefined);
        node.attempts = attempt;
        node.agentId = str(d, 'agentId') ?? node.agentId;
        node.error = undefined;
        spans.push({ kind: 'attempt', attempt, from: t, to: undefined, outcome: 'running', agentId: node.agentId });
        status = 'running';
        break;
      case 'node.completed':
        closeOpen('completed');
        if (bool(d, 'cached')) node.cached = true;
        node.error = undefined;
        status = 'completed';
        break;
      case 'node.failed': {
        closeOpen('failed');
        node.error = errorOf(d);
        const willRetry = bool(d, 'willRetry') === true;
        if (willRetry) spans.push({ kind: 'retry_wait', attempt, from: t, to: undefined, outcome: undefined });
        status = willRetry ? 'retry_wait' : 'failed';
        break;
      }
      case 'node.interrupted':
        closeOpen('interrupted');
        node.error = { code: 'NODE_INTERRUPTED', message: str(d, 'reason') ?? 'interrupted' };
        status = 'retry_wait';
        break;
      case 'node.skipped':
      case 'node.cancelled':
        closeOpen('cancelled');
        node.reason = str(d, 'reason');
        status = event.type === 'node.skipped' ? 'skipped' : 'cancelled';
        break;
    }
    if (TERMINAL.has(status)) {
      // A question of the node left open ends with it.
      for (const span of spans) if (span.kind === 'question' && span.to === undefined) span.to = t;
    }
    node.status = status;
    node.rev++;
    this.rev.nodes++;
    this.rev.timeline++;
  }

  #spans(nodeId: string): TimelineSpan[] {
    let spans = this.timeline.get(nodeId);
    if (!spans) {
      spans = [];
      this.timeline.set(nodeId, spans);
    }
    return spans;
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
        this.#entry(question.agentId, {
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

  #agent(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
    const agentId = str(d, 'agentId');
    if (agentId === undefined) return;
    if (event.type === 'agent.spawned') {
      this.agents.set(agentId, {
        agentId,
        agentType: str(d, 'agentType') ?? '?',
        nodeId: str(d, 'nodeId'),
        workflowId: str(d, 'workflowId'),
        attempt: num(d, 'attempt'),
        model: str(d, 'model'),
        task: str(d, 'task'),
        spawnedAt: event.ts,
        state: 'initializing',
        tools: [],
        entries: [],
        toolIndex: new Map(),
        costUsd: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
        turns: 0,
        toolCalls: 0,
        errors: 0,
        latencies: [],
        metered: false,
        endedAt: undefined,
        rev: 0,
      });
      this.rev.agents++;
      return;
    }
    const agent = this.agents.get(agentId);
    if (!agent) return;
    const base = { seq: event.seq, ts: event.ts };
    const subagentId = str(d, 'subagentId');
    switch (event.type) {
      case 'agent.state_changed':
        agent.state = (str(d, 'to') as AgentState | undefined) ?? agent.state;
        break;
      case 'agent.progress':
        if (str(d, 'kind') === 'init') agent.tools = strings(d, 'tools');
        break;
      case 'agent.message':
        this.#entry(agentId, { kind: 'text', ...base, text: str(d, 'text') ?? '', ...(subagentId && { subagentId }) });
        break;
      case 'agent.tool_use': {
        const toolUseId = str(d, 'toolUseId') ?? `${event.seq}`;
        const tool = str(d, 'tool') ?? '?';
        agent.toolIndex.set(toolUseId, agent.entries.length);
        this.#entry(agentId, {
          kind: 'tool',
          ...base,
          toolUseId,
          tool,
          input: d.input,
          decisions: [],
          ...(subagentId && { subagentId }),
        });
        agent.toolCalls++;
        this.toolCalls.set(tool, (this.toolCalls.get(tool) ?? 0) + 1);
        this.rev.figures++;
        break;
      }
      case 'agent.tool_result': {
        const entry = agent.entries[agent.toolIndex.get(str(d, 'toolUseId') ?? '') ?? -1];
        if (entry?.kind === 'tool')
          entry.result = { isError: bool(d, 'isError') === true, content: str(d, 'content') ?? '' };
        break;
      }
      case 'agent.retry':
        this.#entry(agentId, {
          kind: 'retry',
          ...base,
          by: str(d, 'by') ?? '?',
          attempt: num(d, 'attempt') ?? 0,
          delayMs: num(d, 'delayMs') ?? 0,
          reason: str(d, 'reason') ?? '',
        });
        break;
      case 'agent.usage': {
        const durationMs = num(d, 'durationMs');
        if (durationMs !== undefined) agent.latencies.push({ ttftMs: num(d, 'ttftMs'), durationMs });
        agent.turns = Math.max(agent.turns, num(d, 'turn') ?? 0);
        this.rev.figures++;
        break;
      }
      case 'agent.completed':
      case 'agent.failed': {
        const usage = obj(d, 'usage');
        if (!agent.metered) {
          const cost = num(d, 'costUsd') ?? 0;
          const tokens = (usage && (num(usage, 'inputTokens') ?? 0) + (num(usage, 'outputTokens') ?? 0)) ?? 0;
          agent.costUsd += cost;
          agent.inputTokens += (usage && num(usage, 'inputTokens')) ?? 0;
          agent.outputTokens += (usage && num(usage, 'outputTokens')) ?? 0;
          agent.cacheReadTokens += (usage && num(usage, 'cacheReadTokens')) ?? 0;
          agent.cacheCreationTokens += (usage && num(usage, 'cacheCreationTokens')) ?? 0;
          this.#spend(t, cost, tokens);
        }
        agent.turns = Math.max(agent.turns, num(d, 'turns') ?? 0);
        agent.endedAt = event.ts;
        if (event.type === 'agent.completed') {
          if (d.output !== undefined) this.#entry(agentId, { kind: 'output', ...base, output: d.output });
        } else {
          const error = errorOf(d) ?? { code: 'AGENT_FAILED', message: 'failed' };
          agent.errors++;
          this.errors.set(error.code, (this.errors.get(error.code) ?? 0) + 1);
          this.#entry(agentId, { kind: 'error', ...base, error, willRetry: bool(d, 'willRetry') === true });
        }
        this.rev.figures++;
        break;
      }
    }
    agent.rev++;
    this.rev.agents++;
  }

  #modelRequest(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
    const agent = this.agents.get(str(d, 'agentId') ?? '');
    const cost = num(d, 'costUsd') ?? 0;
    const input = num(d, 'inputTokens') ?? 0;
    const output = num(d, 'outputTokens') ?? 0;
    if (agent) {
      if (!agent.metered) {
        // From now on the wire counts: what agent.completed estimated so far is replaced.
        agent.metered = true;
        this.totalCostUsd -= agent.costUsd;
        this.totalTokens -= agent.inputTokens + agent.outputTokens;
        agent.costUsd = 0;
        agent.inputTokens = 0;
        agent.outputTokens = 0;
        agent.cacheReadTokens = 0;
        agent.cacheCreationTokens = 0;
      }
      agent.costUsd += cost;
      agent.inputTokens += input;
      agent.outputTokens += output;
      agent.cacheReadTokens += num(d, 'cacheReadTokens') ?? 0;
      agent.cacheCreationTokens += num(d, 'cacheCreationTokens') ?? 0;
      agent.latencies.push({ ttftMs: num(d, 'firstByteMs'), durationMs: num(d, 'durationMs') ?? 0 });
      agent.rev++;
      this.rev.agents++;
    }
    if (bool(d, 'ok') === false) {
      const code = errorOf(d)?.code ?? str(d, 'fault') ?? `HTTP_${num(d, 'status') ?? 0}`;
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    }
    this.#spend(t, cost, input + output);
  }

  #spend(t: number, cost: number, tokens: number): void {
    this.totalCostUsd += cost;
    this.totalTokens += tokens;
    const point = { t, costUsd: this.totalCostUsd, tokens: this.totalTokens };
    const last = this.series.at(-1);
    // One point per 100 ms at most: a busy run's chart stays a few thousand points.
    if (last && t - last.t < 100) this.series[this.series.length - 1] = point;
    else this.series.push(point);
    this.rev.figures++;
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
    const agent = this.agents.get(agentId);
    const entry = agent?.entries[agent.toolIndex.get(str(d, 'toolUseId') ?? '') ?? -1];
    if (entry?.kind === 'tool') {
      entry.decisions.push(decision);
      if (agent) agent.rev++;
    } else if (agent) {
      this.#entry(agentId, { kind: 'decision', seq: event.seq, ts: event.ts, tool, decision });
    }
    this.#audit(
      event,
      decision.by,
      `${tool} for ${agentId}${decision.rule ? ` (${decision.rule})` : ''}`,
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

  #entry(agentId: string, entry: TranscriptEntry): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.entries.push(entry);
    agent.rev++;
    this.rev.agents++;
  }

  #audit(event: LogEvent, by: string, what: string, outcome: string | undefined): void {
    this.audit.push({ seq: event.seq, ts: event.ts, type: event.type, by, what, outcome });
    this.rev.audit++;
  }
}

function answerSummary(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'approved' in value) {
    return (value as { approved: unknown }).approved === true ? 'approved' : 'rejected';
  }
  const text = JSON.stringify(value) ?? '';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

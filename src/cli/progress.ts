import type { AnyEvent } from '../events/index.ts';
import type { MetricsState } from '../monitor/index.ts';
import { TERMINAL_NODE_STATUSES } from '../workflow/index.ts';
import { duration, money, spendLine } from './figures.ts';
import {
  applyRunEvent,
  clip,
  describeInput,
  emptyRunView,
  followedWorkflow,
  nodeRunTimeMs,
  type RunView,
  runTimeMs,
} from './run-view.ts';

/**
 * Turns a session's events into the terminal's progress lines: node states, agent activity
 * (tool calls, retries, permission denials), questions to humans, alerts and budgets, and
 * the figures of the monitor's metrics (tokens, cost, turns, tool calls, time). Every line is
 * rendered from the {@link RunView} projection of the events seen, which the live block and
 * the summary of a resume read too.
 */
export class ProgressView {
  #view: RunView | undefined;
  /** Costs of answers from the offline scripted model are what they would have cost: say so. */
  readonly #simulated: boolean;
  #width = 12;

  /** @param options.simulated the answers come from the scripted model (costs are labelled simulated) */
  constructor(options: { simulated?: boolean } = {}) {
    this.#simulated = options.simulated === true;
  }

  /** The projection of the events rendered so far. */
  get view(): RunView {
    this.#view ??= emptyRunView('');
    return this.#view;
  }

  /** The session's figures so far (the monitor's projection of the events rendered). */
  get metrics(): MetricsState {
    return this.view.metrics;
  }

  /** Costs are the scripted model's (labelled simulated). */
  get simulated(): boolean {
    return this.#simulated;
  }

  /** The line(s) to print for an event; empty when the event is not worth a line. */
  render(event: AnyEvent): string[] {
    this.#view ??= emptyRunView(event.sessionId);
    const view = applyRunEvent(this.#view, event);
    const d = event.data as Record<string, unknown>;
    const node = (id: unknown) => String(id ?? '').padEnd(this.#width);
    switch (event.type) {
      case 'workflow.started': {
        const ids = ((event.data.definition as { nodes?: Array<{ id: string }> })?.nodes ?? []).map((n) => n.id);
        this.#width = Math.max(8, ...ids.map((id) => id.length)) + 1;
        return [`workflow ${event.data.name}: ${ids.length} nodes  (session ${event.sessionId})`];
      }
      case 'node.queued':
        return [`  … ${node(event.data.nodeId)} queued: waiting for a free agent process`];
      case 'node.started':
        return [
          `  ▸ ${node(event.data.nodeId)} started${event.data.attempt > 1 ? ` (attempt ${event.data.attempt})` : ''}`,
        ];
      case 'node.completed': {
        const took = nodeRunTimeMs(view, event.data.nodeId);
        const figures = this.metrics.workflows[event.data.workflowId]?.nodes[event.data.nodeId];
        const cost = figures && figures.agents > 0 ? figures.costUsd : undefined;
        const extra = [
          took === undefined ? '' : `${(took / 1000).toFixed(1)}s`,
          cost !== undefined ? money(cost) : '',
          event.data.cached ? 'cached' : '',
        ]
          .filter(Boolean)
          .join('  ');
        return [`  ✓ ${node(event.data.nodeId)} completed ${extra}`.trimEnd()];
      }
      case 'node.failed':
        return [
          `  ✗ ${node(event.data.nodeId)} failed [${event.data.error.code}] ${clip(event.data.error.message, 90)}${event.data.willRetry ? `; retrying in ${Math.round((event.data.retryInMs ?? 0) / 1000)}s` : ''}`,
        ];
      case 'node.interrupted':
        return [`  ! ${node(event.data.nodeId)} interrupted: ${event.data.reason}`];
      case 'node.skipped':
        return [`  ↷ ${node(event.data.nodeId)} skipped: ${event.data.reason}`];
      case 'node.cancelled':
        return [`  ■ ${node(event.data.nodeId)} cancelled: ${event.data.reason}`];
      case 'input.closed':
        return [`    question withdrawn: ${event.data.reason}`];
      case 'control.requested':
        return [
          `  ⇢ ${event.data.action} requested by ${event.data.by ?? 'someone'}${event.data.reason ? `: ${clip(event.data.reason)}` : ''}`,
        ];
      case 'control.rejected':
        return [`  ⇢ request not applied: ${event.data.reason}`];
      case 'session.taken_over':
        return [
          `  ⇄ took the session over from ${event.data.previous.host} pid ${event.data.previous.pid} (${event.data.reason === 'owner_dead' ? 'its process is gone' : 'its lease lapsed'})`,
        ];
      case 'node.compensated':
        return [
          `  ↺ ${node(event.data.nodeId)} compensation ${event.data.ok ? 'done' : `failed: ${event.data.error?.message ?? ''}`}`,
        ];
      case 'workflow.modified':
        return event.data.changes.map((change) => {
          const c = change as { op: string; nodes?: Array<{ id: string }>; ids?: string[] };
          const ids = (c.nodes?.map((n) => n.id) ?? c.ids ?? []).join(', ');
          return `  + graph changed by ${event.data.by}: ${c.op.replace('_', ' ')} ${ids}`;
        });
      case 'workflow.paused':
        return ['  ‖ paused'];
      case 'workflow.resumed':
        return ['  ▶ resumed'];
      case 'workflow.rolling_back':
        return [`  ↺ rolling back: ${clip(event.data.reason)}`];
      case 'input.requested':
        return [this.questionLine(event.data)];
      case 'user.input':
        return [`    answered: ${clip(typeof d.value === 'string' ? d.value : JSON.stringify(d.value))}`];
      case 'agent.tool_use':
        return [
          `    · ${node(view.agentNode[event.data.agentId])}${event.data.tool} ${clip(describeInput(event.data.input), 60)}`,
        ];
      case 'agent.permission':
      case 'security.decision':
        return event.data.decision === 'deny'
          ? [`    ⊘ ${node(view.agentNode[event.data.agentId])}denied ${event.data.tool}: ${event.data.reason}`]
          : [];
      case 'security.granted':
      case 'security.revoked':
        return [
          `  ${event.type === 'security.granted' ? '+' : '−'} ${event.data.agentType}: ${event.data.rule} ${event.type.slice(9)} by ${event.data.by}`,
        ];
      case 'agent.retry':
        return [
          `    ↻ ${node(view.agentNode[event.data.agentId])}retry ${event.data.attempt} (${event.data.reason}) in ${event.data.delayMs} ms`,
        ];
      case 'system.alert': {
        const raised = event.data.state !== 'cleared';
        return [`  ${raised ? '⚠' : '✓'} alert ${event.data.rule}: ${clip(event.data.message, 100)}`];
      }
      case 'budget.exhausted': {
        const { scope, key, action, limitTokens, spentTokens, limitUsd, spentUsd } = event.data;
        const what =
          scope === 'agentType' || scope === 'node' ? `${scope === 'node' ? 'node' : 'agent type'} ${key}` : scope;
        const then =
          action === 'pause'
            ? 'pausing the workflow'
            : scope === 'node'
              ? 'its agent is stopped'
              : 'no more agents start';
        const spent =
          limitTokens !== undefined
            ? `${spentTokens ?? 0} of ${limitTokens} tokens`
            : `${money(spentUsd ?? 0)} of ${money(limitUsd ?? 0)}`;
        return [`  $ budget of the ${what} reached: ${spent}; ${then}`];
      }
      case 'workflow.completed':
        return [this.summary(event.data.status, event.data.error?.message)];
      default:
        return [];
    }
  }

  /** The line of a question to a human: `  ? ship         approval: Ship it?`. */
  questionLine(request: { kind: 'input' | 'approval'; prompt: string; nodeId?: string | undefined }): string {
    return `  ? ${String(request.nodeId ?? '').padEnd(this.#width)} ${request.kind === 'approval' ? 'approval' : 'question'}: ${clip(request.prompt, 90)}`;
  }

  /** The closing line: status, then the figures; the time is run time (see {@link runTimeMs}). */
  summary(status: string, error?: string): string {
    const mark = status === 'completed' ? '✔' : '✘';
    return `${mark} workflow ${status}${error ? `: ${clip(error, 120)}` : ''}\n  ${this.#figures()}`;
  }

  /** `6 agents, 12 turns, 7 tool calls, <tokens>, $0.2140, 18.3s`: the session's figures so far. */
  #figures(): string {
    const s = this.metrics.session;
    const spent = `${spendLine(s)}${this.#simulated ? ' (simulated: scripted model)' : ''}`;
    const started = this.view.clock.segmentStart !== undefined;
    return `${s.agents} agents, ${s.turns} turns, ${s.toolCalls} tool calls, ${spent}${started ? `, ${duration(runTimeMs(this.view))}` : ''}`;
  }

  /**
   * What a resumed session had done before this process took it on, from the events rendered
   * so far (the past, folded without printing): the workflow, its nodes by outcome, the nodes
   * that will run again, and what was spent in how much run time.
   */
  pastSummary(): string[] {
    const wf = followedWorkflow(this.view);
    if (wf === undefined) return [`session ${this.view.session.sessionId}: no workflow started yet`];
    const nodes = Object.values(wf.nodes);
    const ended = (status: string) => {
      const ids = nodes.filter((n) => n.status === status).map((n) => n.id);
      return ids.length === 0 ? [] : [`${ids.length} ${status} (${clip(ids.join(', '), 60)})`];
    };
    const outcomes = [...ended('completed'), ...ended('failed'), ...ended('skipped'), ...ended('cancelled')];
    const done = nodes.filter((n) => TERMINAL_NODE_STATUSES.has(n.status)).length;
    const again = nodes.filter((n) => ['running', 'queued', 'retry_wait'].includes(n.status)).map((n) => n.id);
    return [
      `workflow ${wf.name}: ${nodes.length} nodes  (session ${this.view.session.sessionId})`,
      `  before this resume: ${done} of ${nodes.length} nodes done${outcomes.length > 0 ? `: ${outcomes.join(', ')}` : ''}${again.length > 0 ? `; to run again: ${clip(again.join(', '), 60)}` : ''}`,
      `  spent before: ${this.#figures()}`,
    ];
  }
}

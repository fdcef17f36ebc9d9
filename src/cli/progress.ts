import type { AnyEvent } from '../events/index.ts';
import { applyMetricsEvent, emptyMetrics, type MetricsState } from '../monitor/index.ts';
import { duration, money, spendLine } from './figures.ts';

/** The first few words of a text, on one line. */
function clip(text: string, max = 70): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Turns a session's events into the terminal's progress lines: node states, agent activity
 * (tool calls, retries, permission denials), questions to humans, alerts and budgets, and
 * the figures of the monitor's metrics (tokens, cost, turns, tool calls, time). Pure apart
 * from its own state, so it is easy to test.
 */
export class ProgressView {
  #metrics: MetricsState | undefined;
  /** Costs of answers from the offline scripted model are what they would have cost: say so. */
  readonly #simulated: boolean;

  /** @param options.simulated the answers come from the scripted model (costs are labelled simulated) */
  constructor(options: { simulated?: boolean } = {}) {
    this.#simulated = options.simulated === true;
  }

  readonly #agentNode = new Map<string, string>();
  readonly #nodeStart = new Map<string, number>();
  #width = 12;

  /** The session's figures so far (the monitor's projection of the events rendered). */
  get metrics(): MetricsState {
    this.#metrics ??= emptyMetrics('');
    return this.#metrics;
  }

  /** The line(s) to print for an event; empty when the event is not worth a line. */
  render(event: AnyEvent): string[] {
    this.#metrics ??= emptyMetrics(event.sessionId);
    applyMetricsEvent(this.#metrics, event);
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
        this.#nodeStart.set(event.data.nodeId, Date.parse(event.ts));
        return [
          `  ▸ ${node(event.data.nodeId)} started${event.data.attempt > 1 ? ` (attempt ${event.data.attempt})` : ''}`,
        ];
      case 'node.completed': {
        const took = this.#elapsed(event.data.nodeId, event.ts);
        const figures = this.metrics.workflows[event.data.workflowId]?.nodes[event.data.nodeId];
        const cost = figures && figures.agents > 0 ? figures.costUsd : undefined;
        const extra = [took, cost !== undefined ? money(cost) : '', event.data.cached ? 'cached' : '']
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
        return [
          `  ? ${node(event.data.nodeId)} ${event.data.kind === 'approval' ? 'approval' : 'question'}: ${clip(event.data.prompt, 90)}`,
        ];
      case 'user.input':
        return [`    answered: ${clip(typeof d.value === 'string' ? d.value : JSON.stringify(d.value))}`];
      case 'agent.spawned':
        if (event.data.nodeId) this.#agentNode.set(event.data.agentId, event.data.nodeId);
        return [];
      case 'agent.tool_use':
        return [
          `    · ${node(this.#agentNode.get(event.data.agentId))}${event.data.tool} ${clip(describeInput(event.data.input), 60)}`,
        ];
      case 'agent.permission':
      case 'security.decision':
        return event.data.decision === 'deny'
          ? [`    ⊘ ${node(this.#agentNode.get(event.data.agentId))}denied ${event.data.tool}: ${event.data.reason}`]
          : [];
      case 'security.granted':
      case 'security.revoked':
        return [
          `  ${event.type === 'security.granted' ? '+' : '−'} ${event.data.agentType}: ${event.data.rule} ${event.type.slice(9)} by ${event.data.by}`,
        ];
      case 'agent.retry':
        return [
          `    ↻ ${node(this.#agentNode.get(event.data.agentId))}retry ${event.data.attempt} (${event.data.reason}) in ${event.data.delayMs} ms`,
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

  /** The closing line: status, then the figures. */
  summary(status: string, error?: string): string {
    const m = this.metrics;
    const s = m.session;
    const mark = status === 'completed' ? '✔' : '✘';
    const took = Object.values(m.workflows).at(-1)?.durationMs;
    const spent = `${spendLine(s)}${this.#simulated ? ' (simulated: scripted model)' : ''}`;
    const figures = `${s.agents} agents, ${s.turns} turns, ${s.toolCalls} tool calls, ${spent}${took === undefined ? '' : `, ${duration(took)}`}`;
    return `${mark} workflow ${status}${error ? `: ${clip(error, 120)}` : ''}\n  ${figures}`;
  }

  #elapsed(nodeId: string, ts: string): string {
    const start = this.#nodeStart.get(nodeId);
    return start === undefined ? '' : `${((Date.parse(ts) - start) / 1000).toFixed(1)}s`;
  }
}

function describeInput(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const record = input as Record<string, unknown>;
  for (const key of ['file_path', 'command', 'path', 'pattern', 'url', 'key', 'question']) {
    if (typeof record[key] === 'string') return record[key] as string;
  }
  return JSON.stringify(input);
}

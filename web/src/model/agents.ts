import { bool, errorOf, type LogEvent, num, obj, str, strings } from './event.ts';
import type { AgentState, AgentView, ToolDecision, TranscriptEntry } from './transcript.ts';

/** One point of the running totals. */
export interface FigurePoint {
  readonly t: number;
  readonly costUsd: number;
  readonly tokens: number;
}

/** The revisions the ledger bumps (the session model's). */
export interface LedgerRevisions {
  agents: number;
  figures: number;
}

/**
 * The agents of a session and what they cost: each agent's transcript (text, tool calls with
 * their results and security decisions, retries, structured output, errors), its tokens, cost,
 * turns and latencies, and the session's running totals over time. Spend is counted from the
 * gateway's `model.request` events when an agent has them (read from the wire), else from its
 * `agent.completed` / `agent.failed` (Claude Code's own account), never both.
 */
export class AgentLedger {
  readonly agents = new Map<string, AgentView>();
  readonly series: FigurePoint[] = [];
  readonly toolCalls = new Map<string, number>();
  readonly errors = new Map<string, number>();
  totalCostUsd = 0;
  totalTokens = 0;
  readonly rev: LedgerRevisions;

  constructor(rev: LedgerRevisions) {
    this.rev = rev;
  }

  /** Applies an `agent.*` event. */
  agent(event: LogEvent, d: Readonly<Record<string, unknown>>, t: number): void {
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
        this.entry(agentId, { kind: 'text', ...base, text: str(d, 'text') ?? '', ...(subagentId && { subagentId }) });
        break;
      case 'agent.tool_use': {
        const toolUseId = str(d, 'toolUseId') ?? `${event.seq}`;
        const tool = str(d, 'tool') ?? '?';
        agent.toolIndex.set(toolUseId, agent.entries.length);
        this.entry(agentId, {
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
        this.entry(agentId, {
          kind: 'retry',
          ...base,
          by: str(d, 'by') ?? '?',
          attempt: num(d, 'attempt') ?? 0,
          delayMs: num(d, 'delayMs') ?? 0,
          reason: str(d, 'reason') ?? '',
        });
        break;
      case 'agent.usage': {
        agent.model ??= str(d, 'model');
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
          if (d.output !== undefined) this.entry(agentId, { kind: 'output', ...base, output: d.output });
        } else {
          const error = errorOf(d) ?? { code: 'AGENT_FAILED', message: 'failed' };
          agent.errors++;
          this.errors.set(error.code, (this.errors.get(error.code) ?? 0) + 1);
          this.entry(agentId, { kind: 'error', ...base, error, willRetry: bool(d, 'willRetry') === true });
        }
        this.rev.figures++;
        break;
      }
    }
    agent.rev++;
    this.rev.agents++;
  }

  /** Applies a `model.request` event: the gateway's account of one model request. */
  modelRequest(d: Readonly<Record<string, unknown>>, t: number): void {
    const agent = this.agents.get(str(d, 'agentId') ?? '');
    const cost = num(d, 'costUsd') ?? 0;
    const input = num(d, 'inputTokens') ?? 0;
    const output = num(d, 'outputTokens') ?? 0;
    if (agent) {
      agent.model ??= str(d, 'model');
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

  /** Attaches a security decision to its tool call, or adds it to the transcript on its own. */
  decision(
    event: LogEvent,
    agentId: string,
    toolUseId: string | undefined,
    tool: string,
    decision: ToolDecision,
  ): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    const entry = agent.entries[agent.toolIndex.get(toolUseId ?? '') ?? -1];
    if (entry?.kind === 'tool') {
      entry.decisions.push(decision);
      agent.rev++;
      this.rev.agents++;
    } else {
      this.entry(agentId, { kind: 'decision', seq: event.seq, ts: event.ts, tool, decision });
    }
  }

  /** Appends an entry to an agent's transcript. */
  entry(agentId: string, entry: TranscriptEntry): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.entries.push(entry);
    agent.rev++;
    this.rev.agents++;
  }
}

import { readFileSync } from 'node:fs';
import type { AnyEvent, EventDataMap, EventType } from '../../src/events/index.ts';

/**
 * The events of a real run of the demo workflow (`examples/feature-team`, offline, real SDK
 * and Claude Code against the scripted model): 6 agents, 7 nodes with a run-time fix-up node,
 * an approval, parallel coders. Recorded with `orchestrator events ID --json`.
 */
export function featureTeamEvents(): AnyEvent[] {
  const text = readFileSync(new URL('../fixtures/monitor/feature-team.events.jsonl', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AnyEvent);
}

/** Builds committed-looking events of one session with controlled times. */
export class EventRecorder {
  readonly sessionId: string;
  readonly events: AnyEvent[] = [];
  #seq = 0;
  #now: number;

  constructor(sessionId = 'ses_test', start = Date.parse('2025-06-01T10:00:00.000Z')) {
    this.sessionId = sessionId;
    this.#now = start;
  }

  /** Moves the clock on. */
  wait(ms: number): this {
    this.#now += ms;
    return this;
  }

  /** The current time (epoch ms). */
  get now(): number {
    return this.#now;
  }

  /** Records one event at the current time and returns it. */
  add<T extends EventType>(type: T, data: EventDataMap[T], correlationId: string | null = null): AnyEvent {
    const event = {
      id: `evt_${this.sessionId}_${++this.#seq}`,
      type,
      sessionId: this.sessionId,
      seq: this.#seq,
      ts: new Date(this.#now).toISOString(),
      source: 'test',
      correlationId,
      causationId: null,
      data,
    } as unknown as AnyEvent;
    this.events.push(event);
    return event;
  }

  /** `session.created` + `workflow.started` of a workflow (with an optional definition). */
  start(workflowId = 'wf_1', definition: Record<string, unknown> = { name: 'flow', nodes: [] }): this {
    this.add('session.created', { name: 'flow' });
    this.add('workflow.started', { workflowId, name: String(definition.name ?? 'flow'), definition });
    return this;
  }

  /** `node.started` + `agent.spawned` + the agent's state going to `thinking`. */
  spawn(agentId: string, options: { nodeId?: string; workflowId?: string; agentType?: string } = {}): this {
    const workflowId = options.workflowId ?? 'wf_1';
    if (options.nodeId) this.add('node.started', { workflowId, nodeId: options.nodeId, attempt: 1, agentId });
    this.add('agent.spawned', {
      agentId,
      agentType: options.agentType ?? 'coder',
      workflowId,
      ...(options.nodeId && { nodeId: options.nodeId }),
    });
    this.add('agent.state_changed', { agentId, from: 'waiting', to: 'initializing' });
    this.add('agent.state_changed', { agentId, from: 'initializing', to: 'thinking' });
    return this;
  }

  /** One model response of an agent. */
  usage(agentId: string, input: number, output: number, extra: Partial<EventDataMap['agent.usage']> = {}): this {
    this.add('agent.usage', {
      agentId,
      model: 'claude-sonnet-4-5',
      inputTokens: input,
      outputTokens: output,
      durationMs: 1000,
      ttftMs: 300,
      ...extra,
    });
    return this;
  }
}

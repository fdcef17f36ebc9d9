import type { AgentState, NewEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { AgentTask } from './runtime-options.ts';

/**
 * Appends one agent's events in order. Appends are issued synchronously in call order, and
 * the store commits them in issue order (group commit keeps order), so no chaining is needed;
 * failures are kept and surfaced by {@link flushed}.
 */
export class AgentRecorder {
  readonly #log: EventLog;
  readonly #task: AgentTask;
  readonly #agentId: string;
  readonly #pending = new Set<Promise<unknown>>();
  #state: AgentState | null = null;
  #failure: unknown;

  constructor(log: EventLog, task: AgentTask, agentId: string) {
    this.#log = log;
    this.#task = task;
    this.#agentId = agentId;
  }

  record(events: NewEvent[]): void {
    const source = `agent:${this.#agentId}`;
    const stamped = events.map((event) => ({
      ...event,
      source,
      correlationId: this.#task.correlationId ?? null,
    }));
    const append = this.#log.append(this.#task.sessionId, stamped).then(
      (committed) => {
        const onEvent = this.#task.onEvent;
        if (!onEvent) return;
        for (const event of committed) {
          try {
            onEvent(event);
          } catch {
            // A caller's callback must not break the agent; the event is committed regardless.
          }
        }
      },
      (error: unknown) => {
        this.#failure ??= error;
      },
    );
    this.#pending.add(append);
    void append.finally(() => this.#pending.delete(append));
  }

  /** Settles once every event recorded so far is committed and handed to `onEvent`; never rejects. */
  async recorded(): Promise<void> {
    await Promise.all(this.#pending);
  }

  setState(state: AgentState): void {
    if (state === this.#state) return;
    this.record([{ type: 'agent.state_changed', data: { agentId: this.#agentId, from: this.#state, to: state } }]);
    this.#state = state;
  }

  /** Resolves when every recorded event is committed; rejects with the first append failure. */
  async flushed(): Promise<void> {
    await Promise.all(this.#pending);
    if (this.#failure) throw this.#failure;
  }
}

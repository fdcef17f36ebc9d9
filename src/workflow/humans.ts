import { OrchestratorError } from '../errors/index.ts';
import { type EventDataMap, type EventType, newPrefixedId } from '../events/index.ts';
import { answerForAttempt } from './decide.ts';
import type { WorkflowState } from './state.ts';

/** What {@link HumanQuestions} needs from its run. */
export interface HumanQuestionsOptions {
  state(): WorkflowState;
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void>;
}

/**
 * Open questions to humans and the attempts waiting for their answers. A question is asked
 * once per node attempt (a retried approval asks again), is never asked after its node was
 * stopped, and after a restart the open one is awaited again rather than asked twice.
 */
export class HumanQuestions {
  readonly #waiters = new Map<string, { resolve(value: unknown): void; reject(error: unknown): void }>();
  readonly #o: HumanQuestionsOptions;

  constructor(options: HumanQuestionsOptions) {
    this.#o = options;
  }

  /** Asks (or, after a restart, awaits again) a question for a node attempt. */
  async request(
    nodeId: string,
    attempt: number,
    kind: 'input' | 'approval',
    prompt: string,
    signal: AbortSignal,
    agentId: string | undefined,
  ): Promise<unknown> {
    const stopped = () => new OrchestratorError('NODE_INTERRUPTED', 'stopped while waiting for input');
    if (signal.aborted) throw stopped();
    const wf = this.#o.state();
    if (agentId === undefined) {
      // An answer given to this attempt before a restart is used, not asked for again.
      const answered = answerForAttempt(wf, nodeId, attempt);
      if (answered) return answered.value;
    }
    const open = Object.values(wf.inputRequests).find(
      (r) =>
        r.nodeId === nodeId &&
        r.agentId === agentId &&
        r.kind === kind &&
        (r.attempt === undefined || r.attempt === attempt),
    );
    const requestId = open?.requestId ?? newPrefixedId('req');
    if (!open) {
      await this.#o.record('input.requested', {
        requestId,
        nodeId,
        kind,
        prompt,
        attempt,
        ...(agentId && { agentId }),
      });
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(stopped());
      this.#waiters.set(requestId, { resolve, reject });
      signal.addEventListener(
        'abort',
        () => {
          this.#waiters.delete(requestId);
          reject(stopped());
        },
        { once: true },
      );
    });
  }

  /**
   * Answers an open question.
   * @throws OrchestratorError `INPUT_REQUEST_NOT_FOUND`
   */
  async answer(requestId: string, value: unknown, by: string, controlId: string | undefined): Promise<void> {
    if (!this.#o.state().inputRequests[requestId]) {
      throw new OrchestratorError('INPUT_REQUEST_NOT_FOUND', `no open input request "${requestId}"`);
    }
    await this.#o.record('user.input', { requestId, value, by, ...(controlId && { controlId }) });
    this.#waiters.get(requestId)?.resolve(value);
    this.#waiters.delete(requestId);
  }

  /** Forgets the waiter of a question that was closed. */
  drop(requestId: string): void {
    this.#waiters.delete(requestId);
  }
}

import { OrchestratorError } from '../errors/index.ts';
import { type EventDataMap, type EventType, newPrefixedId } from '../events/index.ts';
import { answerForAttempt, openRequestsOf } from './decide.ts';
import type { InputRequestOptions } from './plan.ts';
import type { WorkflowState } from './state.ts';

/** What {@link HumanQuestions} needs from its run. */
export interface HumanQuestionsOptions {
  state(): WorkflowState;
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void>;
}

/** Longest a question may wait with a timeout (Node.js timers overflow beyond it). */
const MAX_TIMER_MS = 2_147_483_647;

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

  /**
   * Asks (or, after a restart, awaits again) a question for a node attempt. With a timeout or
   * a signal of the asker, an unanswered question is closed when either fires.
   */
  async request(
    nodeId: string,
    attempt: number,
    kind: 'input' | 'approval',
    prompt: string,
    signal: AbortSignal,
    options: InputRequestOptions = {},
  ): Promise<unknown> {
    const { agentId, timeoutMs } = options;
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
        // An agent may ask several things in turn (tool approvals): its question is its own.
        (agentId === undefined || r.prompt === prompt) &&
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
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onStop);
        options.signal?.removeEventListener('abort', onGiveUp);
        this.#waiters.delete(requestId);
      };
      const onStop = () => {
        settle();
        reject(stopped());
      };
      // The asker stopped waiting (timeout, or its own signal): the question is withdrawn.
      const close = (reason: string, error: OrchestratorError) => {
        if (!this.#waiters.has(requestId)) return;
        settle();
        if (this.#o.state().inputRequests[requestId]) {
          void this.#o.record('input.closed', { requestId, nodeId, reason }).catch(() => undefined);
        }
        reject(error);
      };
      const onGiveUp = () =>
        close('the asker stopped waiting', new OrchestratorError('NODE_INTERRUPTED', 'the question was withdrawn'));
      this.#waiters.set(requestId, {
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject,
      });
      signal.addEventListener('abort', onStop, { once: true });
      if (options.signal?.aborted) return onGiveUp();
      options.signal?.addEventListener('abort', onGiveUp, { once: true });
      if (timeoutMs !== undefined) {
        const within = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
        timer = setTimeout(
          () =>
            close(
              `no answer within ${within}`,
              new OrchestratorError('INPUT_TIMEOUT', `question "${requestId}" had no answer within ${within}`, {
                details: { requestId, timeoutMs },
              }),
            ),
          Math.min(timeoutMs, MAX_TIMER_MS),
        );
        timer.unref();
      }
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

  /**
   * Withdraws the open questions of a node that stopped without completing (its own, and those
   * its agents asked), each recorded `input.closed` with the reason: a run never reports
   * `awaiting_input` for a node that no longer waits.
   */
  closeOpen(nodeId: string, reason: string): void {
    for (const requestId of openRequestsOf(this.#o.state(), nodeId)) {
      this.drop(requestId);
      void this.#o.record('input.closed', { requestId, nodeId, reason });
    }
  }
}

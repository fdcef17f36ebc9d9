import { OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { EventDataMap, EventType } from '../events/index.ts';
import type { EngineClock } from './clock.ts';
import type { StopReason } from './decide.ts';
import type {
  InputRequestOptions,
  NodeContext,
  NodeExecutor,
  NodeOutcome,
  NodeRunContext,
  PlanNode,
  Slot,
} from './plan.ts';

/** What a {@link NodeStarter} needs from its run. */
export interface NodeStarterOptions {
  readonly clock: EngineClock;
  readonly workflowId: string;
  readonly probe?: ((point: string, nodeId: string) => void) | undefined;
  record<T extends EventType>(type: T, data: Omit<EventDataMap[T], 'workflowId'>): Promise<void>;
  requestInput(
    nodeId: string,
    attempt: number,
    kind: 'input' | 'approval',
    prompt: string,
    signal: AbortSignal,
    options: InputRequestOptions | undefined,
  ): Promise<unknown>;
}

/** How an attempt ended, and the stop that ended it (if one did). */
export interface AttemptEnd {
  readonly outcome: NodeOutcome;
  readonly stop: StopReason | undefined;
}

/**
 * The runner of node attempts: owns their abort controllers, process slots and timeout timers,
 * and calls the executors. Its one promise: a stop (cancel, pause, suspend, fail-fast, timeout)
 * that arrives at any point of an attempt's start stops it. Every await of the start path is
 * followed by a check (`checkpoint`), executors check after their own awaits, and the signal
 * they get is already aborted when the stop came first, so no `agent.spawned`, no question and
 * no process follows a stop.
 *
 * The start path: reserve a process slot (recording `node.queued` while none is free), record
 * `node.started` (awaited for executors with outside effects), then start the timeout, so that
 * neither the timeout nor the node's duration includes the wait for a slot.
 */
export class NodeStarter {
  readonly #o: NodeStarterOptions;
  readonly #running = new Map<string, AbortController>();
  /** Attempts still waiting for a process slot (recorded `queued`). */
  readonly #waiting = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: NodeStarterOptions) {
    this.#o = options;
  }

  /** Attempts under way. */
  get size(): number {
    return this.#running.size;
  }

  isRunning(nodeId: string): boolean {
    return this.#running.has(nodeId);
  }

  /** Stops every attempt under way (each ends with this reason as its stop). */
  stopAll(reason: StopReason): void {
    for (const controller of this.#running.values()) if (!controller.signal.aborted) controller.abort(reason);
  }

  /**
   * Stops the attempts still waiting for a process slot: a pause starts no node, and one that
   * waits for a slot has not started (it runs again on resume, no interruption counted).
   */
  stopQueued(reason: StopReason): void {
    for (const nodeId of this.#waiting) {
      const controller = this.#running.get(nodeId);
      if (controller && !controller.signal.aborted) controller.abort(reason);
    }
  }

  /** Resolves once every attempt under way has ended. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Runs one attempt of a node. `again`: the attempt already started before a restart (a
   * question to a human awaited again), so nothing is reserved or recorded for it.
   */
  start(
    node: PlanNode,
    attempt: number,
    again: boolean,
    context: NodeContext,
    executor: NodeExecutor | undefined,
    onEnd: (end: AttemptEnd) => void,
  ): void {
    this.#track(node.id, onEnd, (controller) => this.#attempt(node, attempt, again, context, executor, controller));
  }

  /** Finishes an attempt whose agent's result was durable before a restart (see NodeExecutor.recover). */
  recover(
    node: PlanNode,
    attempt: number,
    context: NodeContext,
    executor: NodeExecutor | undefined,
    result: { agentId: string; output: unknown },
    onEnd: (end: AttemptEnd) => void,
  ): void {
    this.#track(node.id, onEnd, async (controller) => {
      let outcome: NodeOutcome;
      try {
        outcome = executor?.recover
          ? await executor.recover(this.#runContext(node, attempt, context, '', controller, undefined), result)
          : { ok: true, output: result.output, agentId: result.agentId };
      } catch (error) {
        outcome = { ok: false, error: toOrchestratorError(error) };
      }
      return outcome;
    });
  }

  /**
   * Registers the attempt before its first await (the run counts it, and can stop it, at once)
   * and hands its end to `onEnd` in the same turn as it leaves the running set: were there a
   * turn between, a stop of "every running attempt" could miss it.
   */
  #track(
    nodeId: string,
    onEnd: (end: AttemptEnd) => void,
    body: (controller: AbortController) => Promise<NodeOutcome>,
  ): void {
    const controller = new AbortController();
    this.#running.set(nodeId, controller);
    const run = body(controller).then((outcome) => {
      this.#running.delete(nodeId);
      // Read now, not when the body returned: a stop may have come in between.
      onEnd({ outcome, stop: stopOf(controller.signal) });
    });
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run)).catch(() => undefined);
  }

  async #attempt(
    node: PlanNode,
    attempt: number,
    again: boolean,
    context: NodeContext,
    executor: NodeExecutor | undefined,
    controller: AbortController,
  ): Promise<NodeOutcome> {
    const { signal } = controller;
    const checkpoint = this.#checkpoint(node.id, signal);
    let slot: Slot | undefined;
    let timer: unknown;
    let outcome: NodeOutcome;
    try {
      if (!executor) throw new OrchestratorError('NODE_KIND_UNKNOWN', `no executor for node kind "${node.kind}"`);
      let task: string;
      try {
        task = node.renderTask(context);
      } catch (error) {
        throw new OrchestratorError('TEMPLATE_FAILED', `task of "${node.id}": ${toOrchestratorError(error).message}`);
      }
      checkpoint('admitted');
      if (!again) {
        if (executor.slots) {
          slot = executor.slots.tryAcquire();
          if (!slot) {
            void this.#o.record('node.queued', {
              nodeId: node.id,
              attempt,
              reason: 'waiting for an agent process slot',
            });
            // Still waiting until the check below: a stop in the turn the slot is granted counts.
            this.#waiting.add(node.id);
            try {
              slot = await executor.slots.acquire(signal);
              checkpoint('slot');
            } finally {
              this.#waiting.delete(node.id);
            }
          }
        }
        const started = this.#o.record('node.started', { nodeId: node.id, attempt });
        if (executor.external) {
          await started;
          checkpoint('node.started');
        }
      }
      const timeoutMs = node.timeoutMs;
      if (timeoutMs !== undefined) {
        timer = this.#o.clock.setTimeout(() => controller.abort('timeout' satisfies StopReason), timeoutMs);
      }
      outcome = await executor.run(this.#runContext(node, attempt, context, task, controller, slot, checkpoint));
    } catch (error) {
      outcome = { ok: false, error: toOrchestratorError(error) };
    } finally {
      if (timer !== undefined) this.#o.clock.clearTimeout(timer);
      slot?.release();
    }
    return outcome;
  }

  #runContext(
    node: PlanNode,
    attempt: number,
    context: NodeContext,
    task: string,
    controller: AbortController,
    slot: Slot | undefined,
    checkpoint: (point: string) => void = this.#checkpoint(node.id, controller.signal),
  ): NodeRunContext {
    const { signal } = controller;
    return {
      ...context,
      workflowId: this.#o.workflowId,
      node,
      attempt,
      signal,
      task,
      slot,
      checkpoint,
      requestInput: (kind, prompt, options) => this.#o.requestInput(node.id, attempt, kind, prompt, signal, options),
    };
  }

  #checkpoint(nodeId: string, signal: AbortSignal): (point: string) => void {
    return (point) => {
      this.#o.probe?.(point, nodeId);
      if (signal.aborted) {
        throw new OrchestratorError(
          'NODE_INTERRUPTED',
          `node "${nodeId}" was stopped (${String(signal.reason)}) at ${point}`,
        );
      }
    };
  }
}

function stopOf(signal: AbortSignal): StopReason | undefined {
  return signal.aborted ? (signal.reason as StopReason) : undefined;
}

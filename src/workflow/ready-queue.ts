import type { EngineClock } from './clock.ts';
import { AdmissionQueue, type ClassLimits, type NodeClass } from './scheduler.ts';

/**
 * The nodes of a run waiting for their turn: ready ones in the admission queue (the workflow's,
 * its groups' and its node classes' concurrency limits), and ones waiting out a retry delay on a timer of the
 * run's clock. A node is never queued twice (a retry due while paused, then a resume), and
 * every timer it sets it clears again.
 */
export class ReadyQueue {
  readonly #admission: AdmissionQueue;
  readonly #clock: EngineClock;
  /** Nodes in the admission queue. */
  readonly #queued = new Set<string>();
  readonly #retryTimers = new Map<string, unknown>();

  constructor(
    concurrency: number,
    groupLimits: ReadonlyMap<string, number>,
    clock: EngineClock,
    classLimits?: ClassLimits,
  ) {
    this.#admission = new AdmissionQueue(concurrency, groupLimits, classLimits);
    this.#clock = clock;
  }

  /** True while anything waits: admission or a retry timer. */
  get busy(): boolean {
    return this.#admission.queued > 0 || this.#retryTimers.size > 0;
  }

  /** Queues a ready node, unless it is queued already. */
  enqueue(id: string, group: string | undefined, cls: NodeClass): void {
    if (this.#queued.has(id)) return;
    this.#queued.add(id);
    this.#admission.enqueue(id, group, cls);
  }

  /** The next node the limits let start (it holds its place until {@link release}), or undefined. */
  next(): string | undefined {
    const id = this.#admission.next();
    if (id !== undefined) this.#queued.delete(id);
    return id;
  }

  /** True when nodes of the class run up to the class's cap (`ORCHESTRATOR_MAX_AGENTS` for agents). */
  classFull(cls: NodeClass): boolean {
    return this.#admission.classFull(cls);
  }

  /** Gives back the place a started node held. */
  release(group: string | undefined, cls: NodeClass): void {
    this.#admission.release(group, cls);
  }

  /** Empties the admission queue; returns the nodes that were waiting. */
  drain(): string[] {
    this.#queued.clear();
    return this.#admission.drain();
  }

  /** True when the node waits for a retry timer or in the admission queue. */
  waiting(id: string): boolean {
    return this.#retryTimers.has(id) || this.#queued.has(id);
  }

  /** Calls `due` at `at` (epoch ms, by the run's clock), once. */
  retryAt(id: string, at: number, due: () => void): void {
    const timer = this.#clock.setTimeout(
      () => {
        this.#retryTimers.delete(id);
        due();
      },
      Math.max(0, at - this.#clock.now()),
    );
    this.#retryTimers.set(id, timer);
  }

  /** Drops every retry timer. */
  clearRetries(): void {
    for (const timer of this.#retryTimers.values()) this.#clock.clearTimeout(timer);
    this.#retryTimers.clear();
  }
}

import { OrchestratorError } from '../errors/index.ts';

/** A reserved place among the processes allowed at once. Releasing twice is harmless. */
export interface ProcessSlot {
  release(): void;
}

interface Waiter {
  readonly grant: (slot: ProcessSlot) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * A counting semaphore of agent process slots, first come first served. Unlike a bare
 * concurrency limiter it lets a caller hold a slot before it has a task to run: the workflow
 * engine reserves one for a node, records the node `queued` while none is free and `started`
 * once it has one, so a node's timeout and duration never include the wait. A waiter whose
 * signal aborts leaves the queue at once and never gets a slot.
 */
export class SlotPool {
  readonly #size: number;
  #active = 0;
  readonly #waiters: Waiter[] = [];

  /** @param size slots in all (at least 1) */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new OrchestratorError('INVALID_ARGUMENT', `slot pool size must be a positive integer, got ${size}`, {
        details: { field: 'maxConcurrent', received: size },
      });
    }
    this.#size = size;
  }

  /** Slots held now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#waiters.length;
  }

  /** A slot now, or undefined when all are held (or others already wait: no overtaking). */
  tryAcquire(): ProcessSlot | undefined {
    if (this.#active >= this.#size || this.#waiters.length > 0) return undefined;
    this.#active++;
    return this.#slot();
  }

  /**
   * Waits for a slot in arrival order.
   * @throws the signal's reason (or an `AGENT_INTERRUPTED` error) when it aborts first.
   */
  acquire(signal?: AbortSignal): Promise<ProcessSlot> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    return new Promise<ProcessSlot>((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        signal,
        onAbort: () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(abortError(signal as AbortSignal));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #slot(): ProcessSlot {
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const next = this.#waiters.shift();
        if (next) {
          // The slot passes straight to the next waiter: the count does not change.
          next.signal?.removeEventListener('abort', next.onAbort);
          next.grant(this.#slot());
        } else {
          this.#active--;
        }
      },
    };
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new OrchestratorError('AGENT_INTERRUPTED', `stopped while waiting for an agent slot (${String(reason)})`);
}

import { OrchestratorError } from '../errors/index.ts';

/** Where a store is in its life: `open` → `closing` (flushing appends) → `closed`. */
export type StoreState = 'open' | 'closing' | 'closed';

/**
 * The close protocol shared by the backends: once `close()` is called every new call fails
 * with `STORE_CLOSED`, the given shutdown runs once, and every `close()` returns its promise.
 */
export class StoreLifecycle {
  readonly #label: string;
  #state: StoreState = 'open';
  #closing: Promise<void> | null = null;

  constructor(label: string) {
    this.#label = label;
  }

  get state(): StoreState {
    return this.#state;
  }

  /** @throws OrchestratorError `STORE_CLOSED` once `close()` has been called. */
  assertOpen(): void {
    if (this.#state !== 'open') {
      throw new OrchestratorError('STORE_CLOSED', `the ${this.#label} event store is ${this.#state}`, {
        details: { state: this.#state },
      });
    }
  }

  /** Runs `shutdown` on the first call; later calls return the same promise. */
  close(shutdown: () => Promise<void>): Promise<void> {
    if (this.#closing === null) {
      this.#state = 'closing';
      this.#closing = (async () => {
        try {
          await shutdown();
        } finally {
          this.#state = 'closed';
        }
      })();
    }
    return this.#closing;
  }
}

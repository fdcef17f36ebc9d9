import { OrchestratorError } from '../errors/index.ts';

/** Where a store is in its life: `open` → `closing` (flushing appends) → `closed`. */
export type StoreState = 'open' | 'closing' | 'closed';

/**
 * The close protocol shared by the backends: once `close()` is called every new call fails
 * with `STORE_CLOSED`, calls already running (see {@link run}) finish, the given shutdown runs
 * once, and every `close()` returns its promise.
 */
export class StoreLifecycle {
  readonly #label: string;
  #state: StoreState = 'open';
  #closing: Promise<void> | null = null;
  readonly #running = new Set<Promise<unknown>>();

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

  /**
   * Runs one call of the store if it is open, and keeps it until it settles so that `close()`
   * waits for it before releasing connections.
   * @throws OrchestratorError `STORE_CLOSED` (as a rejection) once `close()` has been called.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    let call: Promise<T>;
    try {
      this.assertOpen();
      call = work();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#running.add(call);
    const forget = () => this.#running.delete(call);
    call.then(forget, forget);
    return call;
  }

  /** Runs `shutdown` on the first call, after the calls in flight; later calls return the same promise. */
  close(shutdown: () => Promise<void>): Promise<void> {
    if (this.#closing === null) {
      this.#state = 'closing';
      this.#closing = (async () => {
        try {
          await Promise.allSettled([...this.#running]);
          await shutdown();
        } finally {
          this.#state = 'closed';
        }
      })();
    }
    return this.#closing;
  }
}

/**
 * An object whose methods are `target`'s, each run through `lifecycle.run`: refused with
 * `STORE_CLOSED` once the store closes, and awaited by its `close()`. For the parts of a store
 * it exposes as properties (`store.keys`, `store.workflows`).
 */
export function guarded<T extends object, K extends keyof T>(
  lifecycle: StoreLifecycle,
  target: T,
  methods: readonly K[],
): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const name of methods) {
    const method = target[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    (out as Record<K, unknown>)[name] = (...args: unknown[]) => lifecycle.run(() => method.apply(target, args));
  }
  return Object.freeze(out) as Pick<T, K>;
}

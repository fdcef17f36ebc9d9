/**
 * An agent hanging up on one of its requests (its connection closed before the answer ended),
 * made as cheap as possible for the path every request takes: a flag and a few callbacks. An
 * `AbortSignal` (for the timers of a retry and the rate-limit queue) is made only when one is
 * asked for: an `AbortController` per request, and the `DOMException` that `abort()` without
 * a reason builds at every connection's close, were a measurable part of a request's CPU.
 */
export class Hangup {
  #hungUp = false;
  #listeners: (() => void)[] | undefined;
  #controller: AbortController | undefined;

  /** The agent has hung up. */
  get hungUp(): boolean {
    return this.#hungUp;
  }

  /** Calls `listener` once when the agent hangs up (at once if it has); returns the means to stop listening. */
  on(listener: () => void): () => void {
    if (this.#hungUp) {
      listener();
      return noop;
    }
    this.#listeners ??= [];
    this.#listeners.push(listener);
    return () => {
      const listeners = this.#listeners;
      const at = listeners ? listeners.indexOf(listener) : -1;
      if (at >= 0) listeners?.splice(at, 1);
    };
  }

  /** A signal aborted when the agent hangs up, made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#hungUp) this.#controller.abort(HUNG_UP);
    }
    return this.#controller.signal;
  }

  /** Marks the hang-up and calls the listeners, once. */
  fire(): void {
    if (this.#hungUp) return;
    this.#hungUp = true;
    this.#controller?.abort(HUNG_UP);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}

/** The abort reason: one shared value, so that aborting builds no exception. */
const HUNG_UP = Object.freeze({ name: 'AbortError', message: 'the agent closed its connection' });

function noop(): void {}

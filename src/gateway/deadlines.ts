/**
 * The gateway's timeouts (to a response's headers, and between two chunks of its body), kept
 * by one timer for all requests instead of one per request. A timer per try and per stream, set,
 * refreshed at every chunk and cleared, cost a few microseconds of every request; here a chunk
 * only sets a flag, and one sweep every `tickMs` looks at the open deadlines (O(open) per tick,
 * nothing when none is open: the timer runs only while one is).
 *
 * Precision is the price: a deadline fires up to one tick late, and an idle deadline counts
 * from the first sweep after the latest chunk (so up to two ticks late). The tick is a tenth of
 * the shortest timeout (between 10 ms and 1 s), so a timeout fires within 20% of its length.
 */

/** One watched deadline. */
export interface Deadline {
  /** Pushes the deadline back by its length, from the next sweep (a chunk came). Cheap: a flag. */
  touch(): void;
  /** Stops watching it. Idempotent. */
  cancel(): void;
}

interface Entry extends Deadline {
  at: number;
  touched: boolean;
  readonly ms: number;
  readonly onExpire: () => void;
}

/** The tick for timeouts of these lengths: a tenth of the shortest, between 10 ms and 1 s. */
export function tickFor(...timeoutsMs: readonly number[]): number {
  return Math.min(1000, Math.max(10, Math.floor(Math.min(...timeoutsMs) / 10)));
}

/** Deadlines swept by one timer (see the module comment). */
export class DeadlineSweep {
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #entries = new Set<Entry>();
  #timer: NodeJS.Timeout | undefined;

  constructor(tickMs: number, now: () => number = performance.now.bind(performance)) {
    this.#tickMs = tickMs;
    this.#now = now;
  }

  /** Deadlines watched now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Calls `onExpire` once, `ms` from now (or from the latest touch), unless cancelled first. */
  watch(ms: number, onExpire: () => void): Deadline {
    const entries = this.#entries;
    const entry: Entry = {
      at: this.#now() + ms,
      touched: false,
      ms,
      onExpire,
      touch() {
        entry.touched = true;
      },
      cancel() {
        entries.delete(entry);
      },
    };
    entries.add(entry);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.#tickMs);
      this.#timer.unref();
    }
    return entry;
  }

  /** Fires what is due (the timer calls it; tests call it with their own clock). */
  sweep(): void {
    const now = this.#now();
    for (const entry of this.#entries) {
      if (entry.touched) {
        entry.touched = false;
        entry.at = now + entry.ms;
      } else if (now >= entry.at) {
        this.#entries.delete(entry);
        entry.onExpire();
      }
    }
    if (this.#entries.size === 0) this.stop();
  }

  /** Stops the timer (it starts again with the next `watch`). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

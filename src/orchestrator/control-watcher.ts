import type { AnyEvent } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';

/** Options of a {@link ControlWatcher}. */
export interface ControlWatcherOptions {
  readonly log: EventLog;
  readonly sessionId: string;
  /** The last sequence number the owner's state already reflects. */
  readonly fromSeq: number;
  /** How often the store is asked for the session's last sequence number. */
  readonly pollMs: number;
  /** Receives each event another process appended to the session (in log order). */
  readonly onForeign: (event: AnyEvent) => void;
  /** A poll failed (the store is unreachable); the watcher keeps polling. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Lets a session's owner see what other processes append to its log: control requests from
 * another CLI or the API (`control.requested`), which the owner then acts on. Every append of
 * this process is published on its own bus, so the watcher knows which sequence numbers are
 * its own; it polls the store's last sequence number (one indexed read per poll, whatever the
 * run's rate) and reads only the gaps, the events some other process wrote.
 */
export class ControlWatcher {
  readonly #o: ControlWatcherOptions;
  /** Every seq up to this one has been accounted for: own, or foreign and delivered. */
  #seen: number;
  /**
   * Own seqs above `#seen + 1`, published by this process's bus: only those after a gap (a
   * foreign event not read yet). A run's own events, one after another, just move `#seen`
   * on: a set of every seq of a 10,000-node run between two polls cost ~5 ms.
   */
  readonly #own = new Set<number>();
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ControlWatcherOptions) {
    this.#o = options;
    this.#seen = options.fromSeq;
    this.#unsubscribe = options.log.subscribe(
      { sessionId: options.sessionId },
      (event) => {
        if (event.seq === this.#seen + 1) {
          this.#seen = event.seq;
          while (this.#own.delete(this.#seen + 1)) this.#seen++;
        } else if (event.seq > this.#seen) this.#own.add(event.seq);
      },
      { name: `control-watcher:${options.sessionId}` },
    );
    this.#schedule();
  }

  /** Looks now (tests, and right before the owner lets go). */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  /** Stops watching. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#unsubscribe();
    await this.#polling;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, this.#o.pollMs);
    // The watcher alone never keeps a process alive.
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    try {
      const last = await this.#o.log.lastSeq(this.#o.sessionId);
      let from = this.#seen + 1;
      while (!this.#stopped) {
        // Skip our own events (those published meanwhile moved `#seen` on); read the next run of foreign ones.
        from = Math.max(from, this.#seen + 1);
        while (from <= last && this.#own.delete(from)) from++;
        if (from > last) break;
        let to = from;
        while (to + 1 <= last && !this.#own.has(to + 1)) to++;
        const events = await this.#o.log.store.read(this.#o.sessionId, {
          fromSeq: from,
          toSeq: to,
          limit: to - from + 1,
        });
        for (const event of events) {
          // Published locally meanwhile (an append of ours committed after lastSeq was read)?
          // Only own events move `#seen` while a poll runs, so one at or below it is ours.
          if (event.seq <= this.#seen || this.#own.delete(event.seq)) continue;
          this.#o.onForeign(event as AnyEvent);
        }
        from = to + 1;
      }
      this.#seen = Math.max(this.#seen, from - 1);
      while (this.#own.delete(this.#seen + 1)) this.#seen++;
    } catch (error) {
      this.#o.onError?.(error);
    }
  }
}

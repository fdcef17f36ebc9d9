import type { SessionSummary } from '../../store/index.ts';

/** What the feed reads: the store's list of sessions, newest first. */
export interface FeedSource {
  listSessions(options: { limit: number }): Promise<SessionSummary[]>;
}

/**
 * Which sessions changed: it polls the store's list of the newest `watch` sessions (every
 * process's sessions, so a CLI run shows up too) every `pollMs` while someone listens, and tells
 * each listener the sessions whose last sequence number moved. Sessions older than the newest
 * `watch` are not watched: a dashboard's list shows the recent ones.
 */
export class SessionFeed {
  readonly #source: FeedSource;
  readonly #pollMs: number;
  readonly #watch: number;
  readonly #listeners = new Set<(summary: SessionSummary) => void>();
  readonly #known = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #primed: Promise<void> | undefined;

  constructor(source: FeedSource, options: { pollMs: number; watch?: number }) {
    this.#source = source;
    this.#pollMs = options.pollMs;
    this.#watch = options.watch ?? 500;
  }

  /** Calls `listener` with each session that changes from now on; returns the unsubscribe function. */
  async subscribe(listener: (summary: SessionSummary) => void): Promise<() => void> {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) {
      this.#primed = this.#poll(false).catch(() => undefined);
      this.#schedule();
    }
    await this.#primed;
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#known.clear();
      }
    };
  }

  /** Stops polling and drops every listener. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  async #poll(tell: boolean): Promise<void> {
    const listed = await this.#source.listSessions({ limit: this.#watch });
    for (const summary of listed) {
      if (this.#known.get(summary.sessionId) === summary.lastSeq) continue;
      this.#known.set(summary.sessionId, summary.lastSeq);
      if (tell) for (const listener of this.#listeners) listener(summary);
    }
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#poll(true)
        .catch(() => undefined)
        .finally(() => {
          if (this.#listeners.size > 0) this.#schedule();
        });
    }, this.#pollMs);
    this.#timer.unref();
  }
}

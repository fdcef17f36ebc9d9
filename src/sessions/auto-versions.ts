import { type AnyEvent, isEventType } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { applyEvent, type SessionState } from '../workflow/index.ts';
import { StateChunker } from './chunks.ts';
import type { SessionVersions } from './versions.ts';

/** Events after which a version is due: progress worth coming back to. */
export const VERSION_TRIGGERS: ReadonlySet<string> = new Set([
  'node.completed',
  'workflow.paused',
  'workflow.completed',
  'input.requested',
]);

/** Options of {@link AutoVersions.start}. */
export interface AutoVersionsOptions {
  readonly log: EventLog;
  readonly versions: SessionVersions;
  /** The session's state projected from its committed events up to `state.lastSeq` (it is taken over). */
  readonly state: SessionState;
  /** Told about a version that could not be stored (the run goes on; the log still has everything). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Takes versions of one session as it runs: after every completed node, pause, question to a
 * human and end of a workflow. It follows the session's committed events through a log stream
 * (which re-reads from the store whatever it could not buffer, so its projection never skips an
 * event), and its versions are of committed state only, never of decisions still in flight.
 *
 * Versions are serialized and coalesced: when triggers arrive faster than versions are stored,
 * the next version covers all of them, so a fast workflow costs a few versions, not one per
 * node. Each version is cut incrementally (see {@link StateChunker}).
 */
export class AutoVersions {
  readonly #o: AutoVersionsOptions;
  readonly #state: SessionState;
  readonly #chunker = new StateChunker();
  readonly #abort = new AbortController();
  #due = false;
  #taking: Promise<unknown> | undefined;
  #following: Promise<void> = Promise.resolve();
  #taken = 0;
  #stopped: Promise<void> | undefined;

  private constructor(options: AutoVersionsOptions) {
    this.#o = options;
    this.#state = options.state;
  }

  /** Starts following the session from the event after `state.lastSeq`. */
  static start(options: AutoVersionsOptions): AutoVersions {
    const auto = new AutoVersions(options);
    auto.#following = auto.#follow();
    return auto;
  }

  /** Versions stored so far. */
  get taken(): number {
    return this.#taken;
  }

  /** The committed state this follower has seen (read-only use). */
  get state(): SessionState {
    return this.#state;
  }

  async #follow(): Promise<void> {
    const stream = this.#o.log.stream(
      { sessionId: this.#state.sessionId },
      { fromSeq: this.#state.lastSeq + 1, signal: this.#abort.signal, name: `versions:${this.#state.sessionId}` },
    );
    try {
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        const event = item.event as AnyEvent;
        if (!isEventType(event.type) || event.seq <= this.#state.lastSeq) continue;
        applyEvent(this.#state, event);
        if (VERSION_TRIGGERS.has(event.type)) {
          this.#due = true;
          this.#kick();
        }
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#o.onError?.(error);
    }
  }

  #kick(): void {
    if (this.#taking || !this.#due) return;
    this.#due = false;
    this.#taking = this.#o.versions
      .take(this.#state, { chunker: this.#chunker })
      .then(
        () => this.#taken++,
        (error: unknown) => this.#o.onError?.(error),
      )
      .finally(() => {
        this.#taking = undefined;
        this.#kick();
      });
  }

  async #idle(): Promise<void> {
    while (this.#taking) await this.#taking;
  }

  /**
   * Stops following. Events committed before the call and a version already due are still
   * versioned when `final` is set (a suspended or finished run leaves a version of where it
   * stopped). Idempotent.
   */
  stop(options: { final?: boolean; untilSeq?: number } = {}): Promise<void> {
    this.#stopped ??= (async () => {
      if (options.untilSeq !== undefined) await this.#caughtUp(options.untilSeq);
      this.#abort.abort();
      await this.#following;
      await this.#idle();
      if (options.final && this.#due) {
        this.#due = false;
        await this.#o.versions.take(this.#state, { chunker: this.#chunker }).then(
          () => this.#taken++,
          (error: unknown) => this.#o.onError?.(error),
        );
      }
    })();
    return this.#stopped;
  }

  /** Waits until the follower has applied every event up to `seq` (bounded, it never hangs a shutdown). */
  async #caughtUp(seq: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.#state.lastSeq < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
}

import { type AnyEvent, isEventType } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { applyEvent, type SessionState } from '../workflow/index.ts';
import { StateChunker } from './chunks.ts';
import { type DirtyChunks, DirtyTracker } from './dirty.ts';
import type { SessionVersions } from './versions.ts';

/** Events after which a version is due: progress worth coming back to. */
export const VERSION_TRIGGERS: ReadonlySet<string> = new Set([
  'node.completed',
  'workflow.paused',
  'workflow.completed',
  'input.requested',
]);

/** Events the follower's stream may hold before it overflows (and re-reads from the store). */
const STREAM_BUFFER = 1_000_000;
/**
 * Versions take at most about 1/SPACING of the event loop: after a version whose synchronous
 * part (cutting the changed chunks and, on SQLite, writing their blobs) took d ms, the next one
 * waits SPACING × d (at most {@link MAX_WAIT_MS}), so a fast run costs a few versions, not one
 * per node. Waits on I/O (git, the database's commit) do not count: they cost no CPU here.
 */
const SPACING = 20;
const MAX_WAIT_MS = 1000;
/** While a version waits, changed chunks are cut this often, so little is left for the version itself. */
const PREPARE_MS = 50;

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
 * Versions are incremental: the follower applies events through a {@link DirtyTracker}, so a
 * version cuts, hashes and writes only the chunks changed since the previous one. They are
 * serialized, coalesced and spaced (see {@link SPACING}): when triggers arrive faster than
 * versions are stored, the next version covers all of them; while it waits, the changed chunks
 * are cut every {@link PREPARE_MS} ms (see {@link SessionVersions.prepare}), so the version at
 * the end of a run has little left to do.
 */
export class AutoVersions {
  readonly #o: AutoVersionsOptions;
  readonly #state: SessionState;
  readonly #chunker = new StateChunker();
  /** Notes the chunks each applied event changes. */
  readonly #dirty: DirtyTracker;
  readonly #abort = new AbortController();
  #due = false;
  #taking: Promise<unknown> | undefined;
  #following: Promise<void> = Promise.resolve();
  #taken = 0;
  #stopped: Promise<void> | undefined;
  /** When the next version may start (performance.now() time). */
  #nextAt = 0;
  #waitTimer: NodeJS.Timeout | undefined;
  #prepareTimer: NodeJS.Timeout | undefined;

  private constructor(options: AutoVersionsOptions) {
    this.#o = options;
    this.#state = options.state;
    this.#dirty = new DirtyTracker(options.state);
  }

  /** Starts following the session from the event after `state.lastSeq`. */
  static start(options: AutoVersionsOptions): AutoVersions {
    const auto = new AutoVersions(options);
    auto.#following = auto.#follow();
    // A failure here is the first version's to report: it records the files again.
    options.versions.recordWorkspace(options.state).catch(() => undefined);
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
      {
        fromSeq: this.#state.lastSeq + 1,
        signal: this.#abort.signal,
        name: `versions:${this.#state.sessionId}`,
        // A large run commits events in bursts of thousands: an overflow would make the stream
        // re-read them all from the store. Buffered events are ones the log holds anyway.
        bufferSize: STREAM_BUFFER,
      },
    );
    try {
      for await (const item of stream) {
        if (item.kind !== 'event') continue;
        const event = item.event as AnyEvent;
        if (!isEventType(event.type) || event.seq <= this.#state.lastSeq) continue;
        applyEvent(this.#dirty.view, event);
        if (VERSION_TRIGGERS.has(event.type)) this.#due = true;
        if (this.#due) this.#kick();
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#o.onError?.(error);
    }
  }

  #kick(): void {
    if (!this.#due || this.#abort.signal.aborted) return;
    const wait = this.#nextAt - performance.now();
    if (this.#taking || wait > 0) {
      this.#prepareTimer ??= setTimeout(() => this.#prepare(), PREPARE_MS);
      if (!this.#taking) this.#waitTimer ??= setTimeout(() => this.#kick(), wait);
      return;
    }
    this.#clearTimers();
    this.#due = false;
    const started = performance.now();
    const taking = this.#take();
    const busy = performance.now() - started;
    this.#taking = taking.finally(() => {
      this.#nextAt = performance.now() + Math.min(MAX_WAIT_MS, SPACING * busy);
      this.#taking = undefined;
      this.#kick();
    });
  }

  /** Cuts what changed since the last cut, while a version waits its turn. */
  #prepare(): void {
    this.#prepareTimer = undefined;
    if (this.#abort.signal.aborted) return;
    this.#o.versions
      .prepare(this.#state, { chunker: this.#chunker, dirty: this.#dirty.take() })
      .catch((error: unknown) => this.#o.onError?.(error));
    if (this.#due) this.#kick();
  }

  #take(): Promise<void> {
    // The changed chunks are taken with the state, synchronously: `take` reads both before its
    // first await.
    const dirty: DirtyChunks = this.#dirty.take();
    return this.#o.versions.take(this.#state, { chunker: this.#chunker, dirty }).then(
      () => {
        this.#taken++;
      },
      (error: unknown) => this.#o.onError?.(error),
    );
  }

  #clearTimers(): void {
    clearTimeout(this.#waitTimer);
    clearTimeout(this.#prepareTimer);
    this.#waitTimer = undefined;
    this.#prepareTimer = undefined;
  }

  async #idle(): Promise<void> {
    while (this.#taking) await this.#taking;
  }

  /**
   * Stops following. Events committed before the call and a version already due are still
   * versioned when `final` is set (a suspended or finished run leaves a version of where it
   * stopped), without waiting for its spacing. Idempotent.
   */
  stop(options: { final?: boolean; untilSeq?: number } = {}): Promise<void> {
    this.#stopped ??= (async () => {
      if (options.untilSeq !== undefined) await this.#caughtUp(options.untilSeq);
      this.#abort.abort();
      this.#clearTimers();
      await this.#following;
      // The last version's work is done while the one in flight is stored: its chunks cut and
      // their blobs written (a failure here leaves them to the version itself).
      const preparing =
        options.final && this.#due && this.#taking
          ? this.#o.versions
              .prepare(this.#state, { chunker: this.#chunker, dirty: this.#dirty.take(), write: true })
              .catch(() => undefined)
          : undefined;
      await this.#idle();
      await preparing;
      if (options.final && this.#due) {
        this.#due = false;
        await this.#take();
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

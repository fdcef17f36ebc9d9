import { type AnyEvent, isEventType } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import { applyEvent, type SessionState } from '../workflow/index.ts';
import { ChangedChunks, type DirtyChunks } from './changed-chunks.ts';
import { StateChunker } from './chunks.ts';
import { CutBudget } from './cut-budget.ts';
import type { SessionVersions } from './versions.ts';

/** Events after which a version is due: progress worth coming back to. */
export const VERSION_TRIGGERS: ReadonlySet<string> = new Set([
  'node.completed',
  'workflow.paused',
  'workflow.completed',
  'input.requested',
]);

/** Events the follower's subscription may hold before it overflows (the gap is then read from the log). */
const STREAM_BUFFER = 1_000_000;
/**
 * While a version is stored (its blobs and record written, the workspace's files recorded), the
 * chunks changed meanwhile are cut at most this often, within the same budget as versions
 * ({@link CutBudget}), so the next version has less left to do.
 */
const PREPARE_MS = 50;

/** Options of {@link AutoVersions.start}. */
export interface AutoVersionsOptions {
  readonly log: EventLog;
  readonly versions: SessionVersions;
  /** The session's state projected from its committed events up to `state.lastSeq` (it is taken over). */
  readonly state: SessionState;
  /** Told about a version that could not be stored (the run goes on; the log still has everything). */
  readonly onError?: (error: unknown) => void;
  /**
   * The budget of the follower's cuts, shared with the other followers of the process (see
   * {@link CutBudget}). @default one of its own, starting now
   */
  readonly budget?: CutBudget;
}

/**
 * Takes versions of one session as it runs: after every completed node, pause, question to a
 * human and end of a workflow. It follows the session's committed events as they are published
 * and reads any gap in their sequence numbers back from the log, so its projection never skips
 * an event; its versions are of committed state only, never of decisions still in flight.
 *
 * Versions are incremental: the follower notes the chunks each event changes
 * ({@link ChangedChunks}), so a version cuts, hashes and writes only the chunks changed since
 * the previous one. They are serialized, coalesced and spaced by what they cost ({@link CutBudget}:
 * cutting takes at most a small share of the event loop, so a run of instant nodes is not slowed
 * by its versions, and its last version, after the result, does what was put off): when
 * triggers arrive faster than versions are stored, the next version covers all of them; while
 * one is stored, the changed chunks are cut every {@link PREPARE_MS} ms within the same budget.
 */
export class AutoVersions {
  readonly #o: AutoVersionsOptions;
  readonly #state: SessionState;
  readonly #chunker = new StateChunker();
  /** Notes the chunks each applied event changes. */
  readonly #dirty = new ChangedChunks();
  /** Ends the subscription to the log (see {@link #follow}). */
  #unsubscribe: (() => void) | undefined;
  #due = false;
  /** When the version now due was first considered (performance.now() time). */
  #dueSince: number | undefined;
  /** Stopping: no more versions but the final one (read per event). */
  #stopping = false;
  readonly #budget: CutBudget;
  #taking: Promise<unknown> | undefined;
  #taken = 0;
  #stopped: Promise<void> | undefined;
  /** The highest sequence number applied (or skipped as unknown). */
  #seen: number;
  #repairing: Promise<void> = Promise.resolve();
  #waitTimer: NodeJS.Timeout | undefined;
  #prepareTimer: NodeJS.Timeout | undefined;

  private constructor(options: AutoVersionsOptions) {
    this.#o = options;
    this.#state = options.state;
    this.#budget = options.budget ?? new CutBudget(performance.now());
    this.#seen = options.state.lastSeq;
  }

  /** Starts following the session from the event after `state.lastSeq`. */
  static start(options: AutoVersionsOptions): AutoVersions {
    const auto = new AutoVersions(options);
    auto.#follow();
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

  /**
   * Follows live events through a subscription: its handler runs in a microtask after each
   * commit, so the follower keeps up with a busy run (a stream catching up from the store first
   * delivered nothing until the run's end, and the last version then held the whole run). A gap
   * in the sequence numbers (events committed before the subscription, or missed in an
   * overflow) is read back from the log before going on.
   */
  #follow(): void {
    this.#unsubscribe = this.#o.log.subscribe(
      { sessionId: this.#state.sessionId },
      (event) => {
        if (this.#stopping) return;
        const committed = event as AnyEvent;
        if (committed.seq <= this.#seen + 1) return this.#accept(committed);
        return this.#repair(committed.seq - 1).then(() => this.#accept(committed));
      },
      { name: `versions:${this.#state.sessionId}`, bufferSize: STREAM_BUFFER },
    );
  }

  /** Applies the next committed event (one already seen is ignored). */
  #accept(event: AnyEvent): void {
    if (event.seq <= this.#seen) return;
    this.#seen = event.seq;
    if (!isEventType(event.type)) return;
    applyEvent(this.#state, event);
    // Until the chunker's first cut, which is of the whole state whatever changed, nothing needs
    // noting: a fast run whose first version the budget puts off to its end (10,000 nodes noted
    // one by one were a quarter of what the follower cost it) notes nothing at all.
    if (!this.#chunker.cutsWhole) this.#dirty.note(event, this.#state);
    if (VERSION_TRIGGERS.has(event.type)) this.#due = true;
    if (this.#due) this.#kick();
  }

  /** Reads from the log the events after the last one seen, up to `upTo` (one read at a time). */
  #repair(upTo: number): Promise<void> {
    const read = async () => {
      if (this.#seen >= upTo) return;
      for await (const event of this.#o.log.readAll(this.#state.sessionId, this.#seen + 1)) {
        if (event.seq > upTo) break;
        this.#accept(event);
      }
    };
    this.#repairing = this.#repairing.then(read, read);
    return this.#repairing;
  }

  #kick(): void {
    if (!this.#due || this.#stopping) return;
    // While a version is stored, or a later decision is set, nothing is decided here (this runs
    // after every event of a fast run while a version is due; reading the clock each time showed
    // in its profile).
    if (this.#taking !== undefined) {
      this.#prepareTimer ??= setTimeout(() => this.#prepare(), PREPARE_MS);
      return;
    }
    if (this.#waitTimer !== undefined) return;
    const now = performance.now();
    this.#dueSince ??= now;
    const chunks = this.#chunksToCut();
    const wait = this.#budget.wait(chunks, now, this.#dueSince);
    if (wait > 0) {
      this.#waitTimer = setTimeout(() => {
        this.#waitTimer = undefined;
        this.#kick();
      }, wait);
      return;
    }
    this.#clearTimers();
    const dueSince = this.#dueSince;
    this.#due = false;
    this.#dueSince = undefined;
    this.#taking = this.#charged(() => this.#take(), chunks, dueSince).finally(() => {
      this.#taking = undefined;
      this.#kick();
    });
  }

  /** Cuts what changed since the last cut, while a version is stored, when the budget allows. */
  #prepare(): void {
    this.#prepareTimer = undefined;
    if (this.#stopping || this.#taking === undefined) return;
    const chunks = this.#chunksToCut();
    const wait = this.#budget.wait(chunks, performance.now());
    if (wait > 0) {
      this.#prepareTimer = setTimeout(() => this.#prepare(), Math.max(PREPARE_MS, wait));
      return;
    }
    this.#charged(
      () => this.#o.versions.prepare(this.#state, { chunker: this.#chunker, dirty: this.#dirty.take() }),
      chunks,
    ).catch((error: unknown) => this.#o.onError?.(error));
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

  /**
   * Runs a cut (its synchronous part is the cut) and charges the budget with what it took;
   * `chunks` as estimated before (the cut takes the changed chunks), `dueSince` as decided with.
   */
  #charged<T>(cut: () => Promise<T>, chunks: number, dueSince?: number): Promise<T> {
    const started = performance.now();
    const done = cut();
    const ended = performance.now();
    this.#budget.spent(chunks, ended - started, ended, dueSince);
    return done;
  }

  /** What a cut of the chunks changed so far looks at (see {@link ChangedChunks.size}). */
  #chunksToCut(): number {
    return this.#dirty.size(this.#state, this.#chunker.cutsWhole);
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
      this.#stopping = true;
      this.#unsubscribe?.();
      this.#clearTimers();
      await this.#repairing.catch(() => undefined);
      // The last version's work is done while the one in flight is stored: its chunks cut and
      // their blobs written (a failure here leaves them to the version itself). These last cuts
      // wait for no budget, but are charged to it: the followers of other runs wait for them.
      const preparing =
        options.final && this.#due && this.#taking
          ? this.#charged(
              () =>
                this.#o.versions.prepare(this.#state, {
                  chunker: this.#chunker,
                  dirty: this.#dirty.take(),
                  write: true,
                }),
              this.#chunksToCut(),
            ).catch(() => undefined)
          : undefined;
      await this.#idle();
      await preparing;
      if (options.final && this.#due) {
        this.#due = false;
        await this.#charged(() => this.#take(), this.#chunksToCut());
      }
    })();
    return this.#stopped;
  }

  /**
   * Brings the follower to `seq`: live events have a moment to arrive, then whatever is still
   * missing is read from the log (bounded, it never hangs a shutdown).
   */
  async #caughtUp(seq: number): Promise<void> {
    const deadline = Date.now() + 50;
    while (this.#seen < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (this.#seen < seq) await this.#repair(seq).catch((error: unknown) => this.#o.onError?.(error));
  }
}

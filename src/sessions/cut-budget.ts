/**
 * When the version follower may cut: one budget for all of its cuts (a version's, and those
 * made ahead of one while a version is stored), so together they take at most 1/{@link SPACING}
 * of the event loop over the run, from its start.
 *
 * A cut is decided before it is made, from an estimate of its cost: the chunks it will look at
 * (every node of the state for a whole cut) times what a chunk cost in the cuts measured so
 * far. Measuring only afterwards let the first version of a large workflow, a whole cut right
 * after its first node, cost a tenth of a fast run's CPU before any spacing applied.
 *
 * Pure: the caller gives the clock (performance.now() milliseconds).
 */

/** Cuts take at most 1/SPACING of the loop; following the log costs about as much again. */
export const SPACING = 40;
/** A due version waits at most this long, whatever it is estimated to cost. */
export const MAX_WAIT_MS = 1000;
/** Unused budget kept at most (ms of cutting): a quiet hour does not pay for a busy minute. */
export const MAX_SAVED_MS = 50;
/** The first guess of a chunk's cost (ms), before any cut was measured: about 2 us a node. */
export const FIRST_MS_PER_CHUNK = 0.002;
/** Weight of the newest cut in the running cost per chunk. */
const NEWEST_WEIGHT = 0.5;
/**
 * Cuts of fewer chunks do not teach the cost per chunk: their time is mostly what any cut
 * costs (the session's and the workflow's headers), and learning from them would make a large
 * cut look far dearer than it is.
 */
const LEARN_FROM_CHUNKS = 256;

export class CutBudget {
  /** Budget (ms of cutting) at `#at`; negative after a cut that cost more than was saved. */
  #saved = 0;
  #at: number;
  #msPerChunk = FIRST_MS_PER_CHUNK;

  /** `now`: when the follower started (the budget starts empty and fills from there). */
  constructor(now: number) {
    this.#at = now;
  }

  /** The budget at `now`. */
  available(now: number): number {
    return Math.min(MAX_SAVED_MS, this.#saved + (now - this.#at) / SPACING);
  }

  /** The estimated cost (ms) of a cut that looks at `chunks` chunks. */
  estimate(chunks: number): number {
    return chunks * this.#msPerChunk;
  }

  /**
   * How long to wait (ms) before a cut of `chunks` chunks may start: 0 when now. With
   * `dueSince` (a version due since then), never past {@link MAX_WAIT_MS} after it.
   */
  wait(chunks: number, now: number, dueSince?: number): number {
    const short = this.estimate(chunks) - this.available(now);
    if (short <= 0) return 0;
    const wait = short * SPACING;
    if (dueSince === undefined) return wait;
    return Math.max(0, Math.min(wait, dueSince + MAX_WAIT_MS - now));
  }

  /** Records a cut of `chunks` chunks that took `ms`, ending at `now`. */
  spent(chunks: number, ms: number, now: number): void {
    this.#saved = this.available(now) - ms;
    this.#at = now;
    if (chunks >= LEARN_FROM_CHUNKS) {
      const measured = ms / chunks;
      this.#msPerChunk = this.#msPerChunk * (1 - NEWEST_WEIGHT) + measured * NEWEST_WEIGHT;
    }
  }
}

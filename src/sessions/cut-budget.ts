/**
 * When version followers may cut: one budget for all of their cuts (a version's, and those made
 * ahead of one while a version is stored), shared by the followers of one process, so together
 * they take at most 1/{@link SPACING} of the event loop.
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
/**
 * Unused budget kept at most (ms of cutting): a quiet hour does not pay for a busy minute, and a
 * process idle before a run of many nodes does not let the run's first, whole cut (about 2 ms
 * for 1,000 nodes, 20 for 10,000) fall at its start. A version after an agent's node, a
 * fraction of a millisecond, still fits at once.
 */
export const MAX_SAVED_MS = 1;
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

  /** `now`: when the budget starts, empty (it fills from there). */
  constructor(now: number) {
    this.#at = now;
  }

  /**
   * The budget at `now` (ms of cutting) for a cut waiting since `since`: what was saved up to
   * then, at most {@link MAX_SAVED_MS}, and all that the time since has added, so a cut dearer
   * than what is kept becomes affordable by waiting for it. Without `since`, at most
   * {@link MAX_SAVED_MS}.
   */
  available(now: number, since = now): number {
    const from = Math.min(Math.max(since, this.#at), now);
    return Math.min(MAX_SAVED_MS, this.#saved + (from - this.#at) / SPACING) + (now - from) / SPACING;
  }

  /** The estimated cost (ms) of a cut that looks at `chunks` chunks. */
  estimate(chunks: number): number {
    return chunks * this.#msPerChunk;
  }

  /**
   * How long to wait (ms) before a cut of `chunks` chunks may start: 0 when now. With
   * `dueSince` (a version due since then), the time since counts in full (see
   * {@link available}), and the wait never goes past {@link MAX_WAIT_MS} after it.
   */
  wait(chunks: number, now: number, dueSince?: number): number {
    const short = this.estimate(chunks) - this.available(now, dueSince);
    if (short <= 0) return 0;
    const wait = short * SPACING;
    if (dueSince === undefined) return wait;
    return Math.max(0, Math.min(wait, dueSince + MAX_WAIT_MS - now));
  }

  /** Records a cut of `chunks` chunks that took `ms`, ending at `now` (`dueSince` as it was decided with). */
  spent(chunks: number, ms: number, now: number, dueSince?: number): void {
    this.#saved = this.available(now, dueSince) - ms;
    this.#at = now;
    if (chunks >= LEARN_FROM_CHUNKS) {
      const measured = ms / chunks;
      this.#msPerChunk = this.#msPerChunk * (1 - NEWEST_WEIGHT) + measured * NEWEST_WEIGHT;
    }
  }
}

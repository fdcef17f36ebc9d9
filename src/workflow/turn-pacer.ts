/**
 * When a run lets the event loop turn while it starts nodes. Nodes with no effect outside the
 * log (function, condition-only) settle in microtasks, so without a pause a whole run of them
 * would start, finish and record in one turn: its events committed only at the end, in one
 * batch held in memory meanwhile, and timers (lease renewal), the API and the log's subscribers
 * kept waiting. After `startsPerTurn` starts, or `turnBudgetMs` of them, the run yields once:
 * the recorder's batch goes to the store and subscribers drain before the next starts.
 */
export class TurnPacer {
  /** Nodes started since the run last let the event loop turn. */
  #startsThisTurn = 0;
  /** When the first start since the run last yielded happened (performance.now()). */
  #turnStartedAt = 0;
  #yielding = false;
  readonly #startsPerTurn: number;
  readonly #turnBudgetMs: number;
  readonly #limited: boolean;

  constructor(startsPerTurn: number | undefined, turnBudgetMs: number | undefined) {
    this.#startsPerTurn = startsPerTurn ?? Number.POSITIVE_INFINITY;
    this.#turnBudgetMs = turnBudgetMs ?? Number.POSITIVE_INFINITY;
    this.#limited = startsPerTurn !== undefined || turnBudgetMs !== undefined;
  }

  /** True while the run waits for the loop to turn: nothing starts meanwhile. */
  get yielding(): boolean {
    return this.#yielding;
  }

  /** Counts a start; true when this turn has started enough nodes, or for long enough, to yield. */
  started(): boolean {
    if (!this.#limited) return false;
    const starts = ++this.#startsThisTurn;
    if (starts === 1) {
      this.#turnStartedAt = performance.now();
      // Counts are per turn: once the loop turns on its own (nodes that wait on I/O), the
      // next start begins a new count rather than yielding at once for time spent waiting.
      setImmediate(() => {
        if (!this.#yielding) this.#startsThisTurn = 0;
      });
    }
    if (starts >= this.#startsPerTurn) return true;
    return (
      this.#turnBudgetMs !== Number.POSITIVE_INFINITY && performance.now() - this.#turnStartedAt >= this.#turnBudgetMs
    );
  }

  /** Lets the event loop turn once, then calls `next` (which starts the next nodes). */
  yieldThen(next: () => void): void {
    this.#yielding = true;
    setImmediate(() => {
      this.#yielding = false;
      this.#startsThisTurn = 0;
      next();
    });
  }
}

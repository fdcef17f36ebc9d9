import { toOrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent } from '../events/index.ts';
import type { AppendRequest, BatchWriter } from './batch.ts';

/** Options of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** A batch takes queued appends until it holds this many events (one oversized append still goes alone). @default 5000 */
  maxBatchEvents?: number;
}

interface Queued {
  readonly request: AppendRequest;
  readonly resolve: (events: OrchestratorEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: appends submitted during one turn of the event loop wait in a queue and are
 * written by ONE transaction, which turns hundreds of fsyncs into one. While a batch is being
 * written, new appends queue up and form the next batch, written right after.
 *
 * Failure isolation: an append whose expectation fails is refused alone by the writer. When the
 * whole batch transaction fails (a duplicate id, a lost connection), each of its appends is
 * retried in a transaction of its own, so only the culprit fails and the others still commit.
 */
export class GroupCommit {
  readonly #writer: BatchWriter;
  readonly #maxBatchEvents: number;
  #queue: Queued[] = [];
  #loop: Promise<void> | null = null;

  constructor(writer: BatchWriter, options: GroupCommitOptions = {}) {
    this.#writer = writer;
    this.#maxBatchEvents = options.maxBatchEvents ?? 5000;
  }

  /** Number of appends waiting to be written. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an append; resolves with its committed events once its batch has committed. */
  submit(request: AppendRequest): Promise<OrchestratorEvent[]> {
    return new Promise<OrchestratorEvent[]>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#loop ??= new Promise<void>((start) => setImmediate(start)).then(() => this.#run());
    });
  }

  /** Resolves once every append submitted so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.#loop !== null) await this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commit(this.#takeBatch());
    } finally {
      this.#loop = null;
    }
  }

  #takeBatch(): Queued[] {
    let events = 0;
    let count = 0;
    for (const queued of this.#queue) {
      if (count > 0 && events + queued.request.events.length > this.#maxBatchEvents) break;
      events += queued.request.events.length;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #commit(batch: Queued[]): Promise<void> {
    let outcomes: Awaited<ReturnType<BatchWriter['writeBatch']>>;
    try {
      outcomes = await this.#writer.writeBatch(batch.map((queued) => queued.request));
    } catch (error) {
      if (batch.length === 1) (batch[0] as Queued).reject(toOrchestratorError(error));
      else await this.#commitOneByOne(batch);
      return;
    }
    for (let i = 0; i < batch.length; i++) settle(batch[i] as Queued, outcomes[i]);
  }

  async #commitOneByOne(batch: Queued[]): Promise<void> {
    for (const queued of batch) {
      let outcome: OrchestratorEvent[] | Error | undefined;
      try {
        [outcome] = await this.#writer.writeBatch([queued.request]);
      } catch (error) {
        outcome = toOrchestratorError(error);
      }
      settle(queued, outcome);
    }
  }
}

function settle(queued: Queued, outcome: OrchestratorEvent[] | Error | undefined): void {
  if (Array.isArray(outcome)) queued.resolve(outcome);
  else queued.reject(toOrchestratorError(outcome ?? new Error('the batch writer returned no outcome for an append')));
}

import { type OrchestratorError, toOrchestratorError } from '../errors/index.ts';
import type { OrchestratorEvent } from '../events/index.ts';
import type { AppendRequest, BatchWriter } from './batch.ts';
import { recheckAppend } from './recheck.ts';

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
 * Failure isolation: an append whose expectation or fencing token fails is refused alone by the
 * writer. When the whole batch transaction fails (a duplicate id, a lost connection), each of
 * its appends is retried in a transaction of its own, so only the culprit fails and the others
 * still commit.
 *
 * Unknown outcomes: when the connection is lost (`STORE_UNAVAILABLE`), the batch may have
 * committed with only the reply lost. Before its retry, each append (also the only one of a
 * batch) looks its events up by id ({@link recheckAppend}): found as it would have written them,
 * it resolves with them instead of hitting its own ids as duplicates; found in part or as other
 * events, it fails. Such an append gets this one recheck and one write, no more. The lookup
 * costs a read only on this path, never on a commit that succeeded.
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
      const failure = toOrchestratorError(error);
      const unknown = outcomeUnknown(failure);
      if (batch.length === 1 && !unknown) (batch[0] as Queued).reject(failure);
      else for (const queued of batch) settle(queued, await this.#writeAlone(queued.request, unknown));
      return;
    }
    for (let i = 0; i < batch.length; i++) settle(batch[i] as Queued, outcomes[i]);
  }

  /**
   * Writes one append in a transaction of its own. After an unknown outcome it first looks its
   * events up, and looks again if the write then trips over its own ids (the lost commit may
   * still have been finishing on the server when the first lookup read). Never throws.
   */
  async #writeAlone(request: AppendRequest, afterUnknown: boolean): Promise<OrchestratorEvent[] | Error | undefined> {
    let failure: OrchestratorError;
    try {
      if (afterUnknown) {
        const stored = await this.#findStored(request);
        if (stored !== undefined) return stored;
      }
      return (await this.#writer.writeBatch([request]))[0];
    } catch (error) {
      failure = toOrchestratorError(error);
    }
    if (!afterUnknown && outcomeUnknown(failure)) return this.#writeAlone(request, true);
    if (afterUnknown && failure.code === 'EVENT_DUPLICATE') {
      try {
        return (await this.#findStored(request)) ?? failure;
      } catch (error) {
        return toOrchestratorError(error);
      }
    }
    return failure;
  }

  /** The append's committed events when it is stored; undefined when not. @throws its conflict. */
  async #findStored(request: AppendRequest): Promise<OrchestratorEvent[] | undefined> {
    if (request.events.length === 0) return undefined;
    const rows = await this.#writer.readEvents(request.events.map((event) => event.id));
    const found = recheckAppend(request, rows);
    if (found.kind === 'conflict') throw found.error;
    return found.kind === 'committed' ? found.events : undefined;
  }
}

/** A failure after which the batch may or may not have committed: the connection went away. */
function outcomeUnknown(error: OrchestratorError): boolean {
  return error.code === 'STORE_UNAVAILABLE';
}

function settle(queued: Queued, outcome: OrchestratorEvent[] | Error | undefined): void {
  if (Array.isArray(outcome)) queued.resolve(outcome);
  else queued.reject(toOrchestratorError(outcome ?? new Error('the batch writer returned no outcome for an append')));
}

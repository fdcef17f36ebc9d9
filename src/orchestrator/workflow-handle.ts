import type { EventStream, StreamOptions } from '../events/index.ts';
import type { EventLog } from '../log/index.ts';
import type { InputRequest, WorkflowRun, WorkflowState } from '../workflow/index.ts';

/**
 * A workflow run in this process: its events as a stream, its result, and the controls
 * (answer, pause, resume, cancel, suspend).
 */
export class WorkflowHandle {
  readonly sessionId: string;
  readonly workflowId: string;
  /** The folder the agents work in. */
  readonly workspace: string;
  readonly run: WorkflowRun;
  /** Settles with the final state (or the unfinished state after {@link suspend}). */
  readonly result: Promise<WorkflowState>;
  readonly #log: EventLog;

  constructor(options: { sessionId: string; workflowId: string; run: WorkflowRun; log: EventLog; workspace: string }) {
    this.sessionId = options.sessionId;
    this.workflowId = options.workflowId;
    this.workspace = options.workspace;
    this.run = options.run;
    this.#log = options.log;
    this.result = options.run.run();
  }

  /** The run's live projected state. */
  get state(): WorkflowState {
    return this.run.state;
  }

  /**
   * Every event of the session from `fromSeq` (default: the beginning), then live ones, with
   * no gap and no duplicate. Close the stream (or break the loop) when done.
   */
  events(options: Omit<StreamOptions, 'reader'> = {}): EventStream {
    return this.#log.stream({ sessionId: this.sessionId }, { fromSeq: 1, ...options });
  }

  /** Questions to humans open now. */
  pendingInputs(): InputRequest[] {
    return Object.values(this.run.state.inputRequests);
  }

  answer(requestId: string, value: unknown, by?: string): Promise<void> {
    return this.run.answer(requestId, value, by);
  }

  pause(options?: { reason?: string; interruptRunning?: boolean }): void {
    this.run.pause(options);
  }

  resume(reason?: string): void {
    this.run.resume(reason);
  }

  cancel(reason?: string): void {
    this.run.cancel(reason);
  }

  /** Stops this process's work on the run, leaving it resumable (see WorkflowRun.suspend). */
  suspend(): Promise<void> {
    return this.run.suspend();
  }

  /** Resolves once the run has settled or been suspended; never rejects. */
  async settled(): Promise<void> {
    await this.result.catch(() => undefined);
  }
}

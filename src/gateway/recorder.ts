import { Redactor } from '../security/index.ts';
import type { TranscriptStore } from '../store/index.ts';
import type { Exchange, GatewayHooks } from './contract.ts';
import { recordingKey, toRecordedExchange } from './recording.ts';

/** Options of {@link ExchangeRecorder}. */
export interface ExchangeRecorderOptions {
  /** Where recordings go: one transcript per session (see `recordingKey`). */
  readonly store: Pick<TranscriptStore, 'appendTranscript'>;
  /**
   * Removes known secrets from response bodies before they are stored.
   * @default Redactor.none (stores bodies as they came)
   */
  readonly redactor?: Redactor | undefined;
  /**
   * Which sessions to record (the session id of the agent's token).
   * @default every session
   */
  readonly record?: ((sessionId: string) => boolean) | undefined;
  /**
   * Told of a write that failed (the exchange is then not recorded; the run goes on).
   * @default ignored
   */
  readonly onError?: ((error: unknown, exchange: Exchange) => void) | undefined;
  /** @default () => new Date() */
  readonly clock?: (() => Date) | undefined;
}

/**
 * The gateway's recorder: a {@link GatewayHooks} whose `observe` stores each complete
 * Messages API exchange of a session (request identity and digests, response status, content
 * type and body with secrets removed) for `orchestrator sessions cassette` to replay.
 *
 * Guarantees: one store write per exchange, issued when the exchange is observed (never per
 * chunk: the proxy hands over the whole body once); a session's exchanges are written in the
 * order they were observed (writes of one session are chained); `observe` never throws and
 * never blocks the proxy (a failed write goes to `onError`). `flush()` settles when every write
 * issued so far has. Left out: requests that got no complete response (the proxy does not
 * observe them), paths other than `/v1/messages`, and retention (recordings go with their
 * session when it is pruned).
 */
export class ExchangeRecorder implements GatewayHooks {
  readonly #options: ExchangeRecorderOptions;
  readonly #redactor: Redactor;
  /** The last write of each session, so that the next one starts after it. */
  readonly #tails = new Map<string, Promise<void>>();
  #recorded = 0;
  #failed = 0;

  constructor(options: ExchangeRecorderOptions) {
    this.#options = options;
    this.#redactor = options.redactor ?? Redactor.none;
  }

  /** Exchanges written so far. */
  get recorded(): number {
    return this.#recorded;
  }

  /** Writes that failed so far. */
  get failed(): number {
    return this.#failed;
  }

  observe(exchange: Exchange): void {
    const { sessionId } = exchange.request.agent;
    if (this.#options.record && !this.#options.record(sessionId)) return;
    let entry: ReturnType<typeof toRecordedExchange>;
    try {
      entry = toRecordedExchange(exchange, this.#redactor, this.#options.clock?.() ?? new Date());
    } catch (error) {
      this.#fail(error, exchange);
      return;
    }
    if (!entry) return;
    const write = (this.#tails.get(sessionId) ?? Promise.resolve())
      .then(() => this.#options.store.appendTranscript(recordingKey(sessionId), [entry]))
      .then(
        () => {
          this.#recorded++;
        },
        (error: unknown) => this.#fail(error, exchange),
      );
    this.#tails.set(sessionId, write);
    // Forget a session's tail once it is the last write, so the map does not grow with sessions.
    void write.then(() => {
      if (this.#tails.get(sessionId) === write) this.#tails.delete(sessionId);
    });
  }

  /** Settles once every write issued so far has settled (they never reject). */
  async flush(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }

  #fail(error: unknown, exchange: Exchange): void {
    this.#failed++;
    try {
      this.#options.onError?.(error, exchange);
    } catch {
      // A reporter's own failure must not reach the proxy.
    }
  }
}

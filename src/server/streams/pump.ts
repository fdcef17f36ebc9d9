import type { AnyEvent, CompiledFilter, OrchestratorEvent } from '../../events/index.ts';
import type { SessionTail } from './tail.ts';

/** What a stream tells its client besides events. */
export type StreamMessage =
  | { readonly kind: 'heartbeat'; readonly at: string }
  | { readonly kind: 'lagged'; readonly fromSeq: number; readonly toSeq: number; readonly missed: number };

/**
 * Where a pump writes. Each call returns undefined when the client can take more at once, or a
 * promise that settles when it can (its transport's buffer drained): the backpressure that
 * keeps each client's memory bounded. Events come in batches (in order), so a transport writes
 * a batch at once rather than one event at a time.
 */
export interface StreamSink {
  events(events: readonly AnyEvent[]): Promise<void> | undefined;
  send(message: StreamMessage): Promise<void> | undefined;
}

/** The JSON of an event, made once however many clients send it (events are shared, immutable). */
const JSON_OF = new WeakMap<object, string>();

/** `JSON.stringify(event)`, cached per event object. */
export function eventJson(event: AnyEvent): string {
  let text = JSON_OF.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    JSON_OF.set(event, text);
  }
  return text;
}

/** Options of {@link pumpSession}. */
export interface PumpOptions {
  readonly tail: SessionTail;
  /** Reads the log: a reader behind the tail's window catches up from here. */
  readonly read: (fromSeq: number, limit: number) => Promise<readonly OrchestratorEvent[]>;
  readonly filter: CompiledFilter;
  /** The last sequence number the client has: the stream starts after it. */
  readonly after: number;
  /** Keep streaming live events (true), or end once caught up. */
  readonly follow: boolean;
  readonly heartbeatMs: number;
  /** Events taken at once: the most a reader holds besides what its transport buffers. */
  readonly batch: number;
  readonly sink: StreamSink;
  readonly signal: AbortSignal;
  /** Told the reader's position after each batch (stats). */
  readonly onProgress?: (cursor: number) => void;
}

/**
 * Streams one session's events to one client, in sequence order, from `after`: no gap (every
 * event after the cursor is either sent or excluded by the filter) and no duplicate (the cursor
 * only moves forward). Events come from the tail's window when the client keeps up, else from
 * the log; nothing waits for a slow client, and it holds at most one batch plus what its
 * transport buffers. A client that was live and fell out of the window is told which range it
 * missed live (`lagged`) before that range is read back from the log.
 */
export async function pumpSession(options: PumpOptions): Promise<void> {
  const { tail, filter, sink, signal } = options;
  let cursor = options.after;
  let live = false;
  let lagging = false;
  const send = async (message: StreamMessage) => {
    const pending = sink.send(message);
    if (pending) await pending;
  };
  while (!signal.aborted) {
    let batch = tail.since(cursor, options.batch);
    let fromLog = false;
    if (batch === 'behind') {
      if (live && !lagging) {
        const toSeq = tail.lastSeq;
        await send({ kind: 'lagged', fromSeq: cursor + 1, toSeq, missed: toSeq - cursor });
        lagging = true;
      }
      batch = (await options.read(cursor + 1, options.batch)) as readonly AnyEvent[];
      fromLog = true;
    }
    if (batch.length === 0) {
      if (fromLog) {
        // The tail knows of events the log does not give (the session was deleted meanwhile):
        // wait instead of asking again at once.
        await idle(options.heartbeatMs, signal);
        continue;
      }
      live = true;
      lagging = false;
      if (!options.follow) return;
      const more = await tail.wait(cursor, options.heartbeatMs, signal);
      if (!more && !signal.aborted) await send({ kind: 'heartbeat', at: new Date().toISOString() });
      continue;
    }
    const matching: AnyEvent[] = [];
    for (const event of batch) {
      if (event.seq <= cursor) continue;
      cursor = event.seq;
      if (filter.matchesType(event.type) && (filter.matchesEvent === null || filter.matchesEvent(event))) {
        matching.push(event);
      }
    }
    if (matching.length > 0) {
      const pending = sink.events(matching);
      if (pending) await pending;
    }
    options.onProgress?.(cursor);
  }
}

function idle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

import type { AnyEvent, CompiledFilter, OrchestratorEvent } from '../../events/index.ts';
import { followLive, SharedFrames, type StreamMessage, type StreamSink } from './fanout.ts';
import type { SessionTail } from './tail.ts';

export type { StreamMessage, StreamSink } from './fanout.ts';

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

/**
 * The identity of a stream's filter, for its fan-out group: streams whose filters have the
 * same key select the same events.
 */
export function filterKey(
  pattern: readonly string[] | undefined,
  agent: string | undefined,
  severity: string | undefined,
): string {
  return JSON.stringify([pattern ?? [], agent ?? null, severity ?? null]);
}

/** Options of {@link pumpSession}. */
export interface PumpOptions {
  readonly tail: SessionTail;
  /** Reads the log: a reader behind the tail's window catches up from here. */
  readonly read: (fromSeq: number, limit: number) => Promise<readonly OrchestratorEvent[]>;
  readonly filter: CompiledFilter;
  /**
   * Names the filter and the wire format: caught-up clients with the same key share one
   * delivery (see the fan-out group).
   */
  readonly groupKey: string;
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
 * only moves forward). A client behind the live end catches up alone, from the tail's window
 * or else from the log; once caught up it joins the fan-out group of its tail and filter,
 * which writes each new run of events to all its clients at once. Nothing waits for a slow
 * client: its transport fills, it leaves the group and catches up alone again, holding at most
 * one batch plus what its transport buffers. A client that was live and fell out of the window
 * is told which range it missed live (`lagged`) before that range is read back from the log.
 */
export async function pumpSession(options: PumpOptions): Promise<void> {
  const { tail, filter, sink, signal } = options;
  let cursor = options.after;
  let live = false;
  let lagging = false;
  while (!signal.aborted && !tail.stopped) {
    let batch = tail.since(cursor, options.batch);
    let fromLog = false;
    if (batch === 'behind') {
      if (live && !lagging) {
        const toSeq = tail.lastSeq;
        const message: StreamMessage = { kind: 'lagged', fromSeq: cursor + 1, toSeq, missed: toSeq - cursor };
        if (!sink.send(message, new SharedFrames())) await sink.drained();
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
      const settings = { key: options.groupKey, filter, batch: options.batch, heartbeatMs: options.heartbeatMs };
      cursor = await followLive(tail, settings, cursor, sink, signal);
      options.onProgress?.(cursor);
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
    if (matching.length > 0 && !sink.events(matching, new SharedFrames())) await sink.drained();
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

import type { AnyEvent, CompiledFilter } from '../../events/index.ts';
import type { SessionTail } from './tail.ts';

/**
 * The encodings of one delivery (a run of events, or a heartbeat), made by the first client
 * that needs each format and reused by every other: 500 clients of one filter cost one
 * serialization (and one UTF-8 encoding) of each frame, not 500.
 */
export class SharedFrames {
  #made: Map<string, unknown> | undefined;

  /** What `make` returns, made once per key for this delivery. */
  memo<T>(key: string, make: () => T): T {
    this.#made ??= new Map();
    if (this.#made.has(key)) return this.#made.get(key) as T;
    const value = make();
    this.#made.set(key, value);
    return value;
  }
}

/** What a stream tells its client besides events. */
export type StreamMessage =
  | { readonly kind: 'heartbeat'; readonly at: string }
  | { readonly kind: 'lagged'; readonly fromSeq: number; readonly toSeq: number; readonly missed: number };

/**
 * Where a stream writes. Writes never wait: each returns false once the transport holds more
 * than its high-water mark, and the writer then stops writing to it until {@link drained}
 * settles: the backpressure that keeps each client's memory bounded.
 */
export interface StreamSink {
  /** Writes events (in order, at once); `frames` shares their encoding with the other clients of the delivery. */
  events(events: readonly AnyEvent[], frames: SharedFrames): boolean;
  send(message: StreamMessage, frames: SharedFrames): boolean;
  /** Settles once the transport can take more (or closed). */
  drained(): Promise<void>;
}

/** What the clients of one group share: the filter, and how much is written at once. */
export interface GroupSettings {
  /** Identifies the filter and the wire format: clients with the same key share deliveries. */
  readonly key: string;
  readonly filter: CompiledFilter;
  /** Events (before filtering) written to a client at once before its transport is checked. */
  readonly batch: number;
  readonly heartbeatMs: number;
}

interface Member {
  /** The last sequence number this client was given (or skipped by the filter). */
  cursor: number;
  readonly sink: StreamSink;
  readonly signal: AbortSignal;
  readonly leave: (cursor: number) => void;
  readonly onAbort: () => void;
  /** Set once it left: it is handed back exactly once. */
  left: boolean;
}

/** A run of at most `batch` events of a delivery: the matching ones, and where it ends. */
interface Piece {
  readonly events: readonly AnyEvent[];
  readonly lastSeq: number;
  readonly frames: SharedFrames;
}

const GROUPS = new WeakMap<SessionTail, Map<string, FanoutGroup>>();

/**
 * Follows the live end of a session for one caught-up client, among every client of the same
 * tail and filter: resolves with the client's cursor when it must catch up alone (its
 * transport filled and has drained since, or the tail lost events it had not delivered), or
 * when `signal` aborts or the tail stops.
 */
export function followLive(
  tail: SessionTail,
  settings: GroupSettings,
  cursor: number,
  sink: StreamSink,
  signal: AbortSignal,
): Promise<number> {
  let groups = GROUPS.get(tail);
  if (groups === undefined) {
    groups = new Map();
    GROUPS.set(tail, groups);
  }
  let group = groups.get(settings.key);
  if (group === undefined) {
    const created = new FanoutGroup(tail, settings, () => {
      if (groups.get(settings.key) === created) groups.delete(settings.key);
    });
    group = created;
    groups.set(settings.key, group);
  }
  return group.follow(cursor, sink, signal);
}

/**
 * The caught-up clients of one session tail with one filter. Once per turn of the event loop
 * in which events came, it takes the new events from the tail, filters them and writes them to
 * every client in runs of at most `batch` events, each run's frames encoded once for all. A
 * client whose transport fills leaves the group with its cursor and catches up alone (see the
 * pump), so a slow client never holds the others back; it comes back once caught up.
 *
 * No gap, no duplicate: a client in the group has exactly the group's cursor. A client that
 * arrives ahead of it (it read the log past what the tail has delivered) waits until the
 * group's cursor reaches its own, then gets the rest of that delivery on its own.
 */
class FanoutGroup {
  readonly #tail: SessionTail;
  readonly #settings: GroupSettings;
  readonly #onEmpty: () => void;
  readonly #live = new Set<Member>();
  readonly #pending = new Set<Member>();
  #cursor: number;
  #unlisten: () => void;
  #timer: NodeJS.Timeout | undefined;
  /** When the clients were last written to (events or a heartbeat), for the heartbeats. */
  #lastWrite = performance.now();

  constructor(tail: SessionTail, settings: GroupSettings, onEmpty: () => void) {
    this.#tail = tail;
    this.#settings = settings;
    this.#onEmpty = onEmpty;
    // Events the tail holds but has not announced yet are delivered at its next announcement.
    this.#cursor = tail.lastSeq;
    this.#unlisten = tail.onEvents(() => this.#deliver());
  }

  follow(cursor: number, sink: StreamSink, signal: AbortSignal): Promise<number> {
    if (signal.aborted || this.#tail.stopped) {
      this.#disposeIfEmpty();
      return Promise.resolve(cursor);
    }
    return new Promise((resolve) => {
      const member: Member = {
        cursor,
        sink,
        signal,
        leave: resolve,
        onAbort: () => this.#leave(member, false),
        left: false,
      };
      signal.addEventListener('abort', member.onAbort, { once: true });
      if (cursor === this.#cursor) this.#live.add(member);
      else {
        this.#pending.add(member);
        this.#admit(member);
      }
      this.#arm();
    });
  }

  /** Writes what the tail announced to every live client, then admits the waiting ones it reached. */
  #deliver(): void {
    if (this.#tail.stopped) {
      for (const member of [...this.#live, ...this.#pending]) this.#leave(member, false);
      return;
    }
    if (this.#tail.lastSeq > this.#cursor) {
      const events = this.#tail.since(this.#cursor, Number.POSITIVE_INFINITY);
      if (events === 'behind') {
        // More came in one turn than the tail keeps: each client reads the log from its cursor.
        this.#cursor = this.#tail.lastSeq;
        for (const member of this.#live) this.#leave(member, true);
      } else if (events.length > 0) {
        this.#cursor = (events[events.length - 1] as AnyEvent).seq;
        const pieces = this.#pieces(events);
        if (pieces.some((piece) => piece.events.length > 0)) this.#lastWrite = performance.now();
        for (const member of this.#live) this.#write(member, pieces);
      }
    }
    for (const member of this.#pending) this.#admit(member);
  }

  /** Moves a waiting client into the group once the group's cursor reached its own. */
  #admit(member: Member): void {
    if (member.cursor > this.#cursor) return;
    this.#pending.delete(member);
    if (member.cursor < this.#cursor) {
      const events = this.#tail.since(member.cursor, this.#cursor - member.cursor);
      if (events === 'behind') {
        this.#leave(member, true);
        return;
      }
      if (!this.#write(member, this.#pieces(events))) return;
    }
    this.#live.add(member);
  }

  /** Writes the pieces in order; false when the client left (its transport filled). */
  #write(member: Member, pieces: readonly Piece[]): boolean {
    for (const piece of pieces) {
      let ok: boolean;
      try {
        ok = piece.events.length === 0 || member.sink.events(piece.events, piece.frames);
      } catch {
        // This runs on the tail's turn, not the client's: the client catches up alone, where
        // the failure (if it recurs) ends its stream and is logged.
        this.#leave(member, false);
        return false;
      }
      member.cursor = piece.lastSeq;
      if (!ok) {
        this.#leave(member, true);
        return false;
      }
    }
    return true;
  }

  /** Cuts a delivery into runs of at most `batch` events, filtered once for every client. */
  #pieces(events: readonly AnyEvent[]): Piece[] {
    const { filter, batch } = this.#settings;
    const pieces: Piece[] = [];
    for (let start = 0; start < events.length; start += batch) {
      const end = Math.min(events.length, start + batch);
      const matching: AnyEvent[] = [];
      for (let i = start; i < end; i++) {
        const event = events[i] as AnyEvent;
        if (filter.matchesType(event.type) && (filter.matchesEvent === null || filter.matchesEvent(event))) {
          matching.push(event);
        }
      }
      pieces.push({ events: matching, lastSeq: (events[end - 1] as AnyEvent).seq, frames: new SharedFrames() });
    }
    return pieces;
  }

  /**
   * Takes a client out of the group. With `drain`, it is handed back once its transport can
   * take more, so it catches up alone; otherwise (aborted, tail stopped) at once.
   */
  #leave(member: Member, drain: boolean): void {
    if (member.left) return;
    member.left = true;
    this.#live.delete(member);
    this.#pending.delete(member);
    member.signal.removeEventListener('abort', member.onAbort);
    if (drain && !member.signal.aborted) void member.sink.drained().then(() => member.leave(member.cursor));
    else member.leave(member.cursor);
    this.#disposeIfEmpty();
  }

  #disposeIfEmpty(): void {
    if (this.#live.size > 0 || this.#pending.size > 0) return;
    this.#unlisten();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onEmpty();
  }

  /** One heartbeat timer for the group: idle clients hear from it every `heartbeatMs`. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    const due = Math.max(0, this.#lastWrite + this.#settings.heartbeatMs - performance.now());
    this.#timer = setTimeout(() => this.#beat(), due);
    this.#timer.unref();
  }

  #beat(): void {
    this.#timer = undefined;
    if (this.#live.size === 0 && this.#pending.size === 0) return;
    if (performance.now() - this.#lastWrite >= this.#settings.heartbeatMs - 1) {
      this.#lastWrite = performance.now();
      const frames = new SharedFrames();
      const message: StreamMessage = { kind: 'heartbeat', at: new Date().toISOString() };
      // Waiting clients are idle too (they have everything the group has delivered).
      for (const member of [...this.#live, ...this.#pending]) {
        let ok = false;
        try {
          ok = member.sink.send(message, frames);
        } catch {
          // Handed back: its own catch-up reports what failed.
        }
        if (!ok) this.#leave(member, true);
      }
    }
    if (this.#live.size > 0 || this.#pending.size > 0) this.#arm();
  }
}

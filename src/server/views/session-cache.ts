import type { AnyEvent } from '../../events/index.ts';
import { applyReportEvent, emptyReportDraft, type ReportDraft } from '../../reports/index.ts';
import { type RecordedModel, recordedModel } from '../../sessions/index.ts';

/** What the cache reads: a session's last sequence number and its events from a point. */
export interface CacheSource {
  lastSeq(sessionId: string): Promise<number>;
  readAll(sessionId: string, fromSeq?: number): AsyncIterable<AnyEvent>;
}

/** A session's read models, current up to `lastSeq`. */
export interface CachedSession {
  readonly sessionId: string;
  lastSeq: number;
  /** The reports area's draft: figures, events by type, the workflow reducer's state. */
  readonly draft: ReportDraft;
  /** The model its latest run recorded (scripted or real). */
  model: RecordedModel | undefined;
  /** Serialized answers, valid while `lastSeq` does not move (cleared when it does). */
  readonly rendered: Map<string, string>;
}

/**
 * The read models of recently asked-for sessions, kept current by applying only the events
 * appended since they were last read: a `GET` of a session costs one `lastSeq` lookup and, when
 * nothing changed, no projection at all. The models are the reports area's (its draft, finished
 * into a report per answer); this only decides when to feed them. At most `max` sessions are
 * kept, the least recently used dropped first; one catch-up per session runs at a time.
 */
export class SessionCache {
  readonly #source: CacheSource;
  readonly #max: number;
  readonly #sessions = new Map<string, CachedSession>();
  readonly #loading = new Map<string, Promise<CachedSession>>();

  constructor(source: CacheSource, options: { max?: number | undefined } = {}) {
    this.#source = source;
    this.#max = options.max ?? 500;
  }

  /**
   * The session's models, current as of this call. `knownLastSeq` (from a listing) saves the
   * lookup. Undefined for a session with no events.
   */
  async get(sessionId: string, knownLastSeq?: number): Promise<CachedSession | undefined> {
    const lastSeq = knownLastSeq ?? (await this.#source.lastSeq(sessionId));
    if (lastSeq === 0) {
      this.#sessions.delete(sessionId);
      return undefined;
    }
    const cached = this.#sessions.get(sessionId);
    if (cached && cached.lastSeq >= lastSeq) {
      this.#touch(sessionId, cached);
      return cached;
    }
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = this.#catchUp(sessionId, cached).finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    const loaded = await loading;
    // A catch-up that began before `lastSeq` was read may stop short of it: go once more.
    return loaded.lastSeq >= lastSeq ? loaded : this.get(sessionId, lastSeq);
  }

  /** Sessions kept now. */
  get size(): number {
    return this.#sessions.size;
  }

  async #catchUp(sessionId: string, cached: CachedSession | undefined): Promise<CachedSession> {
    const entry = cached ?? fresh(sessionId);
    let from = entry.lastSeq + 1;
    for await (const event of this.#source.readAll(sessionId, from)) {
      // The log does not continue where the cache stopped (it was deleted and written again): rebuild.
      if (event.seq !== from) return this.#catchUp(sessionId, undefined);
      applyReportEvent(entry.draft, event);
      entry.model = recordedModel([event]) ?? entry.model;
      entry.lastSeq = event.seq;
      from++;
    }
    entry.rendered.clear();
    this.#touch(sessionId, entry);
    return entry;
  }

  #touch(sessionId: string, entry: CachedSession): void {
    this.#sessions.delete(sessionId);
    this.#sessions.set(sessionId, entry);
    if (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
  }
}

function fresh(sessionId: string): CachedSession {
  return { sessionId, lastSeq: 0, draft: emptyReportDraft(sessionId), model: undefined, rendered: new Map() };
}

import type { EventDataMap, EventReader, EventType, OrchestratorEvent } from '../../src/events/index.ts';

/** An event to append to a {@link MemoryLog}; `data` defaults to a small valid-looking payload. */
export interface Draft<T extends EventType = EventType> {
  readonly type: T;
  readonly data?: EventDataMap[T];
  readonly source?: string;
}

/** Options of a {@link MemoryLog}. */
export interface MemoryLogOptions {
  /** Awaited at the start of every `read`, to interleave reads with appends in tests. */
  readonly beforeRead?: (sessionId: string, options: ReadRange) => void | Promise<void>;
  /** Caps every page below the caller's `limit`, like a store with a maximum page size. */
  readonly maxPage?: number;
}

/** The read options of {@link EventReader.read}. */
export interface ReadRange {
  fromSeq?: number;
  toSeq?: number;
  limit?: number;
}

let idCounter = 0;

/**
 * Builds a committed event without storing it (for load tests that must not keep history).
 * Ids are a cheap counter, unique within the test process.
 */
export function makeEvent<T extends EventType = 'agent.progress'>(
  sessionId: string,
  seq: number,
  type: T = 'agent.progress' as T,
  data?: EventDataMap[T],
): OrchestratorEvent<T> {
  idCounter++;
  return {
    id: `evt-${idCounter}`,
    type,
    sessionId,
    seq,
    ts: '2025-01-01T00:00:00.000Z',
    source: 'test',
    correlationId: null,
    causationId: null,
    data: data ?? (defaultData(type) as EventDataMap[T]),
  };
}

function defaultData(type: EventType): unknown {
  if (type === 'agent.failed') return { agentId: 'agt_1', error: { code: 'X', message: 'boom' } };
  if (type === 'system.subscriber_failed') {
    return { subscriber: 's', reason: 'threw', message: 'm', eventId: 'e', eventType: 'agent.progress' };
  }
  if (type === 'workflow.started') return { workflowId: 'wf_1', name: 'wf' };
  if (type === 'session.created') return {};
  return { agentId: 'agt_1', kind: 'text', text: 'hi' };
}

/**
 * An array-backed event log for tests: numbers sequence numbers per session like the real
 * store, and reads pages with the store's `fromSeq`/`toSeq`/`limit` semantics. It satisfies
 * {@link EventReader}, so streams can catch up from it.
 */
export class MemoryLog implements EventReader {
  readonly #sessions = new Map<string, OrchestratorEvent[]>();
  readonly #options: MemoryLogOptions;
  /** Number of `read` calls so far. */
  reads = 0;

  constructor(options: MemoryLogOptions = {}) {
    this.#options = options;
  }

  /** Appends drafts to a session, numbering them after its last event. */
  append(sessionId: string, drafts: readonly Draft[]): OrchestratorEvent[] {
    let log = this.#sessions.get(sessionId);
    if (log === undefined) {
      log = [];
      this.#sessions.set(sessionId, log);
    }
    const committed: OrchestratorEvent[] = [];
    for (const draft of drafts) {
      const event = makeEvent(sessionId, log.length + 1, draft.type, draft.data);
      log.push(event);
      committed.push(event);
    }
    return committed;
  }

  /** Appends `count` events of one type (default `agent.progress`). */
  appendMany(sessionId: string, count: number, type: EventType = 'agent.progress'): OrchestratorEvent[] {
    return this.append(
      sessionId,
      Array.from({ length: count }, () => ({ type })),
    );
  }

  /** The session's last sequence number, 0 when empty. */
  lastSeq(sessionId: string): number {
    return this.#sessions.get(sessionId)?.length ?? 0;
  }

  /** Every stored event of a session. */
  all(sessionId: string): readonly OrchestratorEvent[] {
    return this.#sessions.get(sessionId) ?? [];
  }

  async read(sessionId: string, options: ReadRange = {}): Promise<OrchestratorEvent[]> {
    this.reads++;
    await this.#options.beforeRead?.(sessionId, options);
    const log = this.#sessions.get(sessionId) ?? [];
    const from = Math.max(options.fromSeq ?? 1, 1);
    const to = Math.min(options.toSeq ?? log.length, log.length);
    const limit = Math.min(options.limit ?? 1000, this.#options.maxPage ?? Number.POSITIVE_INFINITY);
    return log.slice(from - 1, Math.max(from - 1, Math.min(to, from - 1 + limit)));
  }
}

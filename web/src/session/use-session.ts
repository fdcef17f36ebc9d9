import { useEffect, useRef, useState } from 'react';
import { sessionEventsPath } from '../api/routes.ts';
import { followStream, type StreamState } from '../api/stream.ts';
import type { SessionView } from '../api/types.ts';
import { useAuth } from '../auth.tsx';
import { warmLayoutWorker } from '../graph/layout.ts';
import type { LogEvent } from '../model/event.ts';
import { SessionModel } from '../model/session.ts';

/**
 * A session's model, fed by its event stream from the first event (the log replays, then the
 * stream follows it live). Events are applied in batches, at most once per animation frame,
 * and the page re-renders once per batch: a run sending hundreds of events a second costs a
 * few renders a second, never one per event.
 */
/** The shortest time between two renders of a live session, in ms. */
const MIN_FLUSH_MS = 100;

export function useSessionModel(sessionId: string): {
  readonly model: SessionModel;
  readonly tick: number;
  readonly stream: StreamState;
  readonly streamError: string | undefined;
} {
  const { client } = useAuth();
  const [model, setModel] = useState(() => new SessionModel(sessionId));
  const [tick, setTick] = useState(0);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [streamError, setStreamError] = useState<string | undefined>();

  useEffect(() => {
    warmLayoutWorker();
    const current = new SessionModel(sessionId);
    setModel(current);
    setTick(0);
    let buffer: LogEvent[] = [];
    let scheduled = false;
    let lastFlush = 0;
    const flush = () => {
      scheduled = false;
      if (buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      lastFlush = performance.now();
      current.apply(batch);
      setTick((t) => t + 1);
    };
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      // At most ten renders a second however fast events come, in the next animation frame
      // (a hidden tab gets none: a timer keeps the model current there).
      const wait = Math.max(0, MIN_FLUSH_MS - (performance.now() - lastFlush));
      if (document.hidden) setTimeout(flush, Math.max(wait, 250));
      else setTimeout(() => requestAnimationFrame(flush), wait);
    };
    const followed = followStream({
      url: client.url(sessionEventsPath(sessionId, 0)),
      key: () => client.key(),
      onState: (state, error) => {
        setStream(state);
        if (error) setStreamError(error.message);
        else if (state === 'open') setStreamError(undefined);
      },
      onMessages: (messages) => {
        for (const message of messages) {
          const event = parseEvent(message.data);
          if (event) buffer.push(event);
        }
        schedule();
      },
    });
    return () => followed.close();
  }, [client, sessionId]);

  return { model, tick, stream, streamError };
}

/** An event of the stream, or undefined for anything else (heartbeats, notices). */
export function parseEvent(data: string): LogEvent | undefined {
  try {
    const value = JSON.parse(data) as Partial<LogEvent>;
    if (typeof value?.seq === 'number' && typeof value.type === 'string') return value as LogEvent;
  } catch {
    // Not JSON: not an event.
  }
  return undefined;
}

/** The session's server view (owner, report with figures and budgets), refreshed every few seconds while live. */
export function useSessionView(
  sessionId: string,
  live: boolean,
): {
  readonly view: SessionView | undefined;
  readonly error: string | undefined;
  readonly refresh: () => void;
} {
  const { api } = useAuth();
  const [view, setView] = useState<SessionView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [nonce, setNonce] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: nonce asks for a refresh
  useEffect(() => {
    let current = true;
    const load = async () => {
      try {
        const next = await api.showSession(sessionId);
        if (!current) return;
        setView(next);
        setError(undefined);
      } catch (e) {
        if (current) setError((e as Error).message);
      }
      if (current && live) timer.current = setTimeout(load, 3000);
    };
    void load();
    return () => {
      current = false;
      clearTimeout(timer.current);
    };
  }, [api, sessionId, live, nonce]);
  return { view, error, refresh: () => setNonce((n) => n + 1) };
}

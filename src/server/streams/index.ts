import type { Orchestrator } from '../../orchestrator/index.ts';
import type { CompiledServerOptions } from '../options.ts';
import { StreamClients } from './clients.ts';
import { SessionFeed } from './feed.ts';
import { TailHub } from './tail.ts';

/** The live parts of the API, shared by its stream routes and ended with the server. */
export interface Streams {
  readonly hub: TailHub;
  readonly feed: SessionFeed;
  readonly clients: StreamClients;
}

/** The tails of streamed sessions, the sessions feed and the registry of open streams. */
export function createStreams(orchestrator: Orchestrator, options: CompiledServerOptions): Streams {
  const log = orchestrator.log;
  const hub = new TailHub(
    {
      read: (sessionId, range) => log.store.read(sessionId, range),
      lastSeq: (sessionId) => log.lastSeq(sessionId),
      // The handler only files the event (or marks the tail dirty): it never waits on a reader.
      subscribe: (sessionId, onEvent) =>
        log.subscribe({ sessionId }, onEvent, { name: `api-tail:${sessionId}`, bufferSize: 100_000 }),
    },
    { capacity: options.streamBufferEvents, pollMs: options.streamPollMs },
  );
  const feed = new SessionFeed(log, { pollMs: Math.max(options.streamPollMs, 250) });
  return { hub, feed, clients: new StreamClients() };
}

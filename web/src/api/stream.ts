import { ApiError, authHeaders, errorFromBody } from './client.ts';
import { type SseMessage, SseParser } from './sse-parser.ts';

/**
 * Follows one of the API's server-sent event streams over `fetch` (EventSource cannot send
 * the API key in a header). On a dropped connection it reconnects with backoff, sending the
 * last event id it saw as `Last-Event-ID`, so the server resumes with no gap and no duplicate.
 * A refusal (401, 403, 404) ends it: retrying would not help.
 */

/** Where a followed stream stands. */
export type StreamState = 'connecting' | 'open' | 'retrying' | 'closed';

/** Options of {@link followStream}. */
export interface FollowOptions {
  /** The stream's URL (path and query). */
  readonly url: string;
  readonly key: () => string | undefined;
  /** Resume after this event id (e.g. a seq already shown). */
  readonly lastEventId?: string | undefined;
  /** The messages of one chunk of the stream, in order. */
  readonly onMessages: (messages: SseMessage[]) => void;
  readonly onState?: (state: StreamState, error?: ApiError) => void;
  /** @default 500 ms, doubling to 10 s */
  readonly retryMs?: number;
}

/** A followed stream; `close()` ends it for good. */
export interface FollowedStream {
  close(): void;
}

export function followStream(options: FollowOptions): FollowedStream {
  const controller = new AbortController();
  let lastEventId = options.lastEventId;
  let delay = options.retryMs ?? 500;
  const state = (s: StreamState, error?: ApiError) => options.onState?.(s, error);

  const run = async () => {
    while (!controller.signal.aborted) {
      state('connecting');
      const parser = new SseParser();
      try {
        const response = await fetch(options.url, {
          headers: {
            accept: 'text/event-stream',
            ...authHeaders(options.key()),
            ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
          },
          signal: controller.signal,
          cache: 'no-store',
        });
        if (!response.ok || !response.body) {
          const text = await response.text().catch(() => '');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          const error = errorFromBody(response.status, body, text);
          if ([400, 401, 403, 404, 410].includes(response.status)) {
            state('closed', error);
            return;
          }
          throw error;
        }
        state('open');
        delay = options.retryMs ?? 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const messages = parser.push(value);
          if (parser.lastEventId !== undefined) lastEventId = parser.lastEventId;
          if (messages.length > 0) options.onMessages(messages);
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        state('retrying', error instanceof ApiError ? error : new ApiError(0, 'NETWORK', (error as Error).message));
      }
      if (controller.signal.aborted) break;
      if (parser.retry !== undefined) delay = parser.retry;
      state('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
    state('closed');
  };
  void run();
  return { close: () => controller.abort() };
}

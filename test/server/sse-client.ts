/** One SSE frame as a client sees it. */
export interface SseFrame {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

/** A live SSE connection read frame by frame. */
export interface SseConnection {
  readonly status: number;
  readonly headers: Headers;
  /** Frames received so far (retry lines are not frames). */
  readonly frames: SseFrame[];
  /** Resolves once `predicate` holds for the frames received (checked at each frame). */
  until(predicate: (frames: SseFrame[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens an SSE stream with fetch, as EventSource would (plus an optional key and Last-Event-ID). */
export async function openSse(
  url: string,
  options: { key?: string; lastEventId?: string; headers?: Record<string, string> } = {},
): Promise<SseConnection> {
  const abort = new AbortController();
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(url, { headers, signal: abort.signal });
  const frames: SseFrame[] = [];
  const watchers = new Set<() => void>();
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame = parse(block);
          if (frame) {
            frames.push(frame);
            for (const watch of [...watchers]) watch();
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Closed by us.
    } finally {
      for (const watch of [...watchers]) watch();
    }
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    status: response.status,
    headers: response.headers,
    frames,
    ended,
    close: () => abort.abort(),
    until(predicate, what, timeoutMs = 20_000) {
      if (predicate(frames)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${frames.length} frames`));
        }, timeoutMs);
        function check() {
          if (predicate(frames)) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve();
          } else if (done) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`the stream ended before ${what}; got ${frames.length} frames`));
          }
        }
        watchers.add(check);
      });
    },
  };
}

function parse(block: string): SseFrame | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  let any = false;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else continue;
    any = true;
  }
  return any && (data.length > 0 || id !== undefined) ? { id, event, data: data.join('\n') } : undefined;
}

/** The sequence numbers of the event frames (frames with an id). */
export function seqsOf(frames: readonly SseFrame[]): number[] {
  return frames.filter((f) => f.id !== undefined).map((f) => Number(f.id));
}

/** One open stream connection (an SSE response or a WebSocket). */
export interface StreamClient {
  readonly kind: 'sse' | 'ws';
  /** What it streams (a session id, or `sessions` for the list). */
  readonly what: string;
  /** Bytes written to it and not yet handed to the network. */
  bufferedBytes(): number;
  /** Ends it (server shutdown). */
  close(): void;
}

/**
 * The open stream connections of a server: for its shutdown (streams never end by themselves,
 * so the server ends them before it stops) and for its metrics (how many, how much buffered).
 */
export class StreamClients {
  readonly #clients = new Set<StreamClient>();

  /** Registers a client; returns the function that forgets it. */
  add(client: StreamClient): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  get size(): number {
    return this.#clients.size;
  }

  /** The largest number of bytes buffered for one client now. */
  maxBufferedBytes(): number {
    let max = 0;
    for (const client of this.#clients) max = Math.max(max, client.bufferedBytes());
    return max;
  }

  all(): StreamClient[] {
    return [...this.#clients];
  }

  closeAll(): void {
    for (const client of [...this.#clients]) client.close();
  }
}

/**
 * The text/event-stream format, parsed incrementally (as the WHATWG spec reads it): chunks of
 * text in, complete messages out. `id` persists from message to message as the spec says, so
 * the reconnect's `Last-Event-ID` is always the last id the server sent.
 */

/** One message of the stream. */
export interface SseMessage {
  /** `message` when the server named none. */
  readonly event: string;
  readonly data: string;
  /** The last event id set so far (this message's or an earlier one's). */
  readonly id: string | undefined;
}

export class SseParser {
  #buffer = '';
  /** Where the search for the next line end resumes: a long line arriving in many chunks is scanned once. */
  #scanned = 0;
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #retry: number | undefined;

  /** The last id the server set. */
  get lastEventId(): string | undefined {
    return this.#id;
  }

  /** The reconnection delay the server asked for, in ms. */
  get retry(): number | undefined {
    return this.#retry;
  }

  /** Feeds a chunk of text; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.#buffer += chunk;
    const messages: SseMessage[] = [];
    let start = 0;
    let from = this.#scanned;
    for (;;) {
      const cr = this.#buffer.indexOf('\r', from);
      const lf = this.#buffer.indexOf('\n', from);
      let end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (end === cr && end === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(start, end);
      if (this.#buffer[end] === '\r' && this.#buffer[end + 1] === '\n') end++;
      start = end + 1;
      from = start;
      const message = this.#line(line);
      if (message) messages.push(message);
    }
    this.#buffer = this.#buffer.slice(start);
    // Everything before a held CR was scanned already; the CR itself is looked at again.
    this.#scanned = Math.max(
      0,
      Math.min(this.#buffer.length, this.#buffer.endsWith('\r') ? this.#buffer.length - 1 : this.#buffer.length),
    );
    return messages;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const message = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id };
      this.#event = '';
      this.#data = [];
      return message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
    }
    return undefined;
  }
}

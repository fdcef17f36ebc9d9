/**
 * Where a followed run's output goes: plain lines, or plain lines scrolling above a live block
 * redrawn in place at the bottom of a terminal. The block's content is a pure function
 * (`frame`); this module only decides when to draw it and keeps it out of the way of the lines
 * and of prompts.
 */
export interface RunOutput {
  /** Prints lines that stay: on a terminal they scroll up above the live block. */
  lines(lines: readonly string[]): void;
  /**
   * Takes the live block off the screen and holds back lines until the returned function is
   * called: a prompt at the terminal is then the only thing written. A no-op for plain output.
   */
  hold(): () => void;
  /** Removes the live block for good; later lines are written plainly. Idempotent. */
  close(): void;
}

/** Plain lines, exactly as written (a pipe, a file, CI, `--json`, `--no-live`). */
export function plainOutput(stream: NodeJS.WritableStream): RunOutput {
  return {
    lines(lines) {
      for (const line of lines) stream.write(`${line}\n`);
    },
    hold: () => () => undefined,
    close: () => undefined,
  };
}

/** What decides between the live view and plain lines. */
export interface LiveViewFacts {
  /** The output stream's terminal facts (`process.stdout`). */
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  /** `--json`: events as JSON lines, never a live block. */
  readonly json: boolean;
  /** False with `--no-live`. */
  readonly live: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The live view is for a person at a terminal: stdout is a TTY that reports its size (one of
 * size 0, as `script` gives without a terminal on its input, cannot be drawn on), the output
 * is not JSON, `--no-live` was not given, `CI` is unset (or `false`/`0`: some runners set it
 * so), and `TERM` is not `dumb`. Everyone else gets plain lines.
 */
export function wantsLiveView(facts: LiveViewFacts): boolean {
  if (!facts.live || facts.json || facts.isTTY !== true) return false;
  if (!((facts.columns ?? 0) > 0 && (facts.rows ?? 0) > 0)) return false;
  const ci = facts.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') return false;
  return facts.env.TERM !== 'dumb';
}

/** Options of {@link liveOutput}. */
export interface LiveOutputOptions {
  /** The block to draw at a given time (epoch ms); empty for none. */
  readonly frame: (nowMs: number) => string;
  /** The shortest time between two redraws of the block, in ms. @default 100 (10 a second) */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Lines above a block redrawn in place with log-update. The block is redrawn by a timer (its
 * times move on while nothing happens) and after lines, never more often than once per
 * `intervalMs`: a burst of events costs one redraw, not one per line. The timer does not keep
 * the process alive. log-update is loaded only here, so plain runs never load it.
 */
export async function liveOutput(stream: NodeJS.WriteStream, options: LiveOutputOptions): Promise<RunOutput> {
  const { createLogUpdate } = await import('log-update');
  // The cursor stays visible: a prompt needs it, and a process killed mid-frame must not leave
  // the user's terminal without one.
  const log = createLogUpdate(stream, { showCursor: true });
  const interval = options.intervalMs ?? 100;
  const now = options.now ?? Date.now;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let shown = false;
  let holds = 0;
  let closed = false;
  let broken = false;
  const held: string[] = [];

  const draw = () => {
    if (closed || broken || holds > 0) return;
    lastDraw = now();
    let frame: string;
    try {
      frame = options.frame(lastDraw);
    } catch {
      // A block that cannot be drawn must not end the run (this runs in a timer, where a
      // throw would crash the process): the block goes, the lines go on.
      broken = true;
      frame = '';
    }
    if (frame === '') {
      if (shown) log.clear();
      shown = false;
      return;
    }
    log(frame);
    shown = true;
  };
  const write = (lines: readonly string[]) => {
    if (lines.length === 0) return;
    if (closed) {
      for (const line of lines) stream.write(`${line}\n`);
      return;
    }
    // The block is erased and the lines written where it was, byte for byte as plain output
    // writes them (log-update's own persist would cut long lines at the width); the block
    // comes back below them.
    if (shown) log.clear();
    shown = false;
    stream.write(lines.map((line) => `${line}\n`).join(''));
    if (now() - lastDraw >= interval) draw();
  };
  const timer = setInterval(draw, interval);
  timer.unref();

  return {
    lines(lines) {
      if (holds > 0 && !closed) held.push(...lines);
      else write(lines);
    },
    hold() {
      if (closed) return () => undefined;
      if (holds++ === 0 && shown) {
        log.clear();
        shown = false;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds > 0) return;
        write(held.splice(0));
        draw();
      };
    },
    close() {
      if (closed) return;
      clearInterval(timer);
      if (shown) log.clear();
      log.done();
      closed = true;
      write(held.splice(0));
    },
  };
}

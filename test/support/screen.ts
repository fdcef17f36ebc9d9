/**
 * A small terminal for tests: plays the bytes a program wrote to a terminal and gives the
 * text that is left on it (scrollback included), as a person would see it. It knows the
 * control sequences the live view and readline write (erase line and below, cursor up/down,
 * to a column, synchronized output) and a terminal's `\r\n`; any other escape sequence is an error, so a
 * test cannot pass on output it did not understand.
 */
export class Screen {
  readonly #rows: string[][] = [[]];
  #row = 0;
  #col = 0;
  readonly #width: number;

  /** @param width columns: a longer line wraps, as a terminal wraps it */
  constructor(width = 100) {
    this.#width = width;
  }

  /** Plays some output. */
  write(text: string): this {
    let i = 0;
    while (i < text.length) {
      const char = text[i] as string;
      if (char === ESC) {
        const sequence = controlSequence(text, i);
        if (!sequence) throw new Error(`unknown escape sequence at ${JSON.stringify(text.slice(i, i + 12))}`);
        this.#control(sequence.privateMode, sequence.n, sequence.op);
        i += sequence.length;
        continue;
      }
      if (char === '\r') this.#col = 0;
      else if (char === '\n') this.#down(1, true);
      else this.#put(char);
      i++;
    }
    return this;
  }

  /** The lines on the terminal, trailing spaces and trailing empty lines removed. */
  lines(): string[] {
    const lines = this.#rows.map((row) =>
      Array.from(row, (c) => c ?? ' ')
        .join('')
        .trimEnd(),
    );
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** The text on the terminal. */
  text(): string {
    return this.lines().join('\n');
  }

  #control(privateMode: boolean, n: number | undefined, op: string): void {
    if (privateMode) {
      // Synchronized output (2026) and cursor visibility (25) change nothing on the screen.
      if ((n === 2026 || n === 25) && (op === 'h' || op === 'l')) return;
      throw new Error(`unknown private mode ${n}${op}`);
    }
    switch (op) {
      case 'A':
        this.#row = Math.max(0, this.#row - (n ?? 1));
        return;
      case 'B':
        this.#down(n ?? 1, false);
        return;
      case 'G':
        this.#col = (n ?? 1) - 1;
        return;
      case 'K': {
        const line = this.#line();
        if ((n ?? 0) === 0) line.length = Math.min(line.length, this.#col);
        else if (n === 2) line.length = 0;
        else throw new Error(`unknown erase ${n}K`);
        return;
      }
      case 'J':
        // Erase below (readline clears what follows its prompt): the rest of the line and every row under it.
        if ((n ?? 0) !== 0) throw new Error(`unknown erase ${n}J`);
        this.#line().length = Math.min(this.#line().length, this.#col);
        this.#rows.length = this.#row + 1;
        return;
      default:
        throw new Error(`unknown control sequence ${n ?? ''}${op}`);
    }
  }

  #line(): string[] {
    this.#rows[this.#row] ??= [];
    return this.#rows[this.#row] as string[];
  }

  #down(n: number, carriageReturn: boolean): void {
    this.#row += n;
    for (let r = this.#rows.length; r <= this.#row; r++) this.#rows.push([]);
    if (carriageReturn) this.#col = 0;
  }

  #put(char: string): void {
    if (this.#col >= this.#width) this.#down(1, true);
    const line = this.#line();
    while (line.length < this.#col) line.push(' ');
    line[this.#col] = char;
    this.#col++;
  }
}

const ESC = '\u001b';

/** The CSI sequence (`ESC [ ? n op`) at `at`, if one is there. */
function controlSequence(
  text: string,
  at: number,
): { privateMode: boolean; n: number | undefined; op: string; length: number } | undefined {
  if (text[at + 1] !== '[') return undefined;
  let i = at + 2;
  const privateMode = text[i] === '?';
  if (privateMode) i++;
  let digits = '';
  while (i < text.length && /\d/.test(text[i] as string)) digits += text[i++];
  const op = text[i];
  if (op === undefined || !/[A-Za-z]/.test(op)) return undefined;
  return { privateMode, n: digits === '' ? undefined : Number(digits), op, length: i + 1 - at };
}

/** The text without control sequences and carriage returns (what a log file of it would read). */
export function stripControls(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\r') continue;
    const sequence = text[i] === ESC ? controlSequence(text, i) : undefined;
    if (sequence) i += sequence.length - 1;
    else out += text[i];
  }
  return out;
}

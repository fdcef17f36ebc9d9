import type { AnyEvent } from '../events/index.ts';

/** Left-aligned columns separated by two spaces, with a header row. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** One readable line per event: sequence, time, type, source and a compact payload. */
export function formatEventLine(event: AnyEvent): string {
  const time = event.ts.slice(11, 23);
  const data = JSON.stringify(event.data);
  const shown = data.length > 160 ? `${data.slice(0, 157)}...` : data;
  const cut = (event.data as { truncated?: Array<{ field: string; bytes: number; sha256: string }> }).truncated;
  const note = cut?.length
    ? `  [shortened: ${cut.map((t) => `${t.field} ${t.bytes} bytes, sha256 ${t.sha256.slice(0, 12)}`).join('; ')}]`
    : '';
  return `${String(event.seq).padStart(5)}  ${time}  ${event.type.padEnd(24)} ${event.source.padEnd(12)} ${shown}${note}`;
}

/** Dollars with four decimals under $1, two above. */
export function money(usd: number): string {
  return `$${usd.toFixed(Math.abs(usd) < 1 ? 4 : 2)}`;
}

/** How the page writes states, money, tokens, durations and times. DOM-free (unit-tested in Node). */

const STATUS_LABELS: Readonly<Record<string, string>> = {
  pending: 'pending',
  queued: 'queued',
  running: 'running',
  retry_wait: 'waiting to retry',
  awaiting_input: 'awaiting input',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
  paused: 'paused',
  rolling_back: 'rolling back',
  created: 'created',
  interrupted: 'interrupted (nobody runs it)',
  empty: 'empty',
  unreadable: 'unreadable',
};

/** A state as words (never only a colour). */
export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status.replaceAll('_', ' ');
}

/** US dollars: `$0.0123` below a cent, `$1.23` above. */
export function formatCost(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  if (Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

/** A count of tokens: `950`, `12.3k`, `4.5M`. */
export function formatTokens(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A duration: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A timestamp in the reader's locale, to the second. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A percentage of a 0–1 share. */
export function formatPercent(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return '—';
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

/** JSON for display, shortened past `max` characters. */
export function preview(value: unknown, max = 400): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

import { statusLabel } from './format.ts';

/** A state as a badge: words and a colour (the words alone say it). */
export function StatusBadge({ status }: { readonly status: string }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

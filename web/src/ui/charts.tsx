/**
 * Small SVG charts, no library: a line over time and a list of bars. Each says its figures in
 * words too (a description and the values as text), never only as shapes.
 */

/** A line chart of a running total over time. */
export function LineChart({
  title,
  points,
  format,
  height = 140,
}: {
  readonly title: string;
  readonly points: readonly { readonly t: number; readonly v: number }[];
  readonly format: (v: number) => string;
  readonly height?: number;
}) {
  const width = 520;
  const pad = { l: 56, r: 12, t: 10, b: 22 };
  if (points.length === 0) {
    return (
      <figure className="chart">
        <figcaption>{title}</figcaption>
        <p className="muted">No data yet.</p>
      </figure>
    );
  }
  const t0 = points[0]?.t ?? 0;
  const t1 = Math.max(points.at(-1)?.t ?? t0, t0 + 1);
  const max = Math.max(...points.map((p) => p.v), 0) || 1;
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const last = points.at(-1)?.v ?? 0;
  const id = title.replace(/\W+/g, '-').toLowerCase();
  return (
    <figure className="chart">
      <figcaption id={`${id}-caption`}>
        {title}: <strong>{format(last)}</strong>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-caption ${id}-desc`}
        preserveAspectRatio="none"
      >
        <title>{title}</title>
        <desc id={`${id}-desc`}>
          {`From 0 to ${format(last)} over ${Math.round((t1 - t0) / 1000)} seconds, ${points.length} points.`}
        </desc>
        <line x1={pad.l} x2={width - pad.r} y1={y(0)} y2={y(0)} className="axis-line" />
        <line x1={pad.l} x2={pad.l} y1={pad.t} y2={y(0)} className="axis-line" />
        <text x={pad.l - 6} y={y(max) + 4} textAnchor="end" className="axis">
          {format(max)}
        </text>
        <text x={pad.l - 6} y={y(0)} textAnchor="end" className="axis">
          0
        </text>
        <text x={width - pad.r} y={height - 4} textAnchor="end" className="axis">
          +{Math.round((t1 - t0) / 1000)} s
        </text>
        <path d={path} className="line" />
      </svg>
    </figure>
  );
}

/** Horizontal bars with their values written out. */
export function Bars({
  title,
  items,
  format,
  limit = 12,
}: {
  readonly title: string;
  /** `id` tells apart items whose labels may repeat (two attempts of one node); @default the label */
  readonly items: readonly {
    readonly id?: string;
    readonly label: string;
    readonly value: number;
    readonly note?: string;
  }[];
  readonly format: (v: number) => string;
  readonly limit?: number;
}) {
  const sorted = [...items].sort((a, b) => b.value - a.value).slice(0, limit);
  const max = Math.max(...sorted.map((i) => i.value), 0) || 1;
  return (
    <figure className="chart bars">
      <figcaption>{title}</figcaption>
      {sorted.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table>
          <tbody>
            {sorted.map((item) => (
              <tr key={item.id ?? item.label}>
                <th scope="row" title={item.label}>
                  {item.label}
                </th>
                <td className="bar-cell">
                  <span className="bar" style={{ width: `${(item.value / max) * 100}%` }} aria-hidden="true" />
                </td>
                <td className="num">
                  {format(item.value)}
                  {item.note ? <small> {item.note}</small> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items.length > limit ? <p className="muted">and {items.length - limit} more</p> : null}
    </figure>
  );
}

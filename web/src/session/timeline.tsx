import { useEffect, useMemo, useState } from 'react';
import type { SessionModel } from '../model/session.ts';
import type { TimelineSpan } from '../model/views.ts';
import { formatDuration } from '../ui/format.ts';

/**
 * A Gantt chart of the run: a row per node, a bar per attempt (its outcome as colour and as
 * text in its tooltip), with waits for a process slot, waits before a retry and questions to
 * humans drawn as their own spans. Only the rows in view are drawn, so a 1,000-node run
 * scrolls as lightly as a small one.
 */

const ROW = 26;
const LABEL = 160;
const HEIGHT = 440;

const KIND_LABEL: Readonly<Record<TimelineSpan['kind'], string>> = {
  queued: 'waiting for a process slot',
  attempt: 'attempt',
  retry_wait: 'waiting to retry',
  question: 'question to a human',
};

export function TimelinePanel({
  model,
  tick,
  ended,
}: {
  readonly model: SessionModel;
  readonly tick: number;
  readonly ended: boolean;
}) {
  const [scroll, setScroll] = useState(0);
  const [width, setWidth] = useState(900);
  const [now, setNow] = useState(Date.now());
  // A running session's open spans grow with the clock.
  useEffect(() => {
    if (ended) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ended]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick stands for the model's timeline
  const rows = useMemo(
    () =>
      [...model.timeline.entries()]
        .filter(([, spans]) => spans.length > 0)
        .sort((a, b) => (a[1][0]?.from ?? 0) - (b[1][0]?.from ?? 0)),
    [model, model.rev.timeline, tick],
  );
  const start = model.firstTs ?? now;
  const end = ended ? (model.lastTs ?? now) : Math.max(now, model.lastTs ?? now);
  const span = Math.max(end - start, 1000);
  const plot = Math.max(width - LABEL - 16, 200);
  const x = (t: number) => LABEL + ((t - start) / span) * plot;
  const first = Math.max(0, Math.floor(scroll / ROW) - 5);
  const last = Math.min(rows.length, Math.ceil((scroll + HEIGHT) / ROW) + 5);
  const ticks = 6;

  if (rows.length === 0) return <p className="muted">No node has started yet.</p>;
  return (
    <div className="timeline">
      <ul className="legend" aria-label="Legend">
        <li>
          <span className="swatch span-attempt" aria-hidden="true" /> attempt
        </li>
        <li>
          <span className="swatch span-failed" aria-hidden="true" /> failed or interrupted attempt
        </li>
        <li>
          <span className="swatch span-queued" aria-hidden="true" /> waiting for a slot
        </li>
        <li>
          <span className="swatch span-retry_wait" aria-hidden="true" /> waiting to retry
        </li>
        <li>
          <span className="swatch span-question" aria-hidden="true" /> question to a human
        </li>
      </ul>
      <section
        className="timeline-scroll"
        style={{ height: HEIGHT }}
        onScroll={(e) => setScroll(e.currentTarget.scrollTop)}
        ref={(el) => {
          if (el && Math.abs(el.clientWidth - width) > 4) setWidth(el.clientWidth);
        }}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling region must be reachable by keyboard
        tabIndex={0}
        aria-label={`Timeline of ${rows.length} nodes, ${formatDuration(span)}`}
      >
        <svg width={width} height={rows.length * ROW + 24} role="img" aria-labelledby="timeline-desc">
          <desc id="timeline-desc">
            Each row is a node; bars are its attempts and waits over time, from the first event to{' '}
            {ended ? 'the end' : 'now'}.
          </desc>
          {Array.from({ length: ticks + 1 }, (_, i) => {
            const t = start + (span * i) / ticks;
            return (
              <g key={`tick-${t}`}>
                <line x1={x(t)} x2={x(t)} y1={0} y2={rows.length * ROW} className="grid" />
                <text x={x(t)} y={rows.length * ROW + 16} className="axis" textAnchor="middle">
                  +{formatDuration(t - start)}
                </text>
              </g>
            );
          })}
          {rows.slice(first, last).map(([nodeId, spans], i) => {
            const y = (first + i) * ROW;
            return (
              <g key={nodeId} data-node={nodeId}>
                <text x={4} y={y + ROW / 2 + 4} className="row-label">
                  {nodeId.length > 22 ? `${nodeId.slice(0, 21)}…` : nodeId}
                </text>
                {spans.map((s, j) => {
                  const to = s.to ?? end;
                  const cls =
                    s.kind === 'attempt' && (s.outcome === 'failed' || s.outcome === 'interrupted')
                      ? 'span-failed'
                      : `span-${s.kind}`;
                  const inner = s.kind === 'question' ? 8 : s.kind === 'attempt' ? 4 : 7;
                  return (
                    <rect
                      // biome-ignore lint/suspicious/noArrayIndexKey: spans of a node only grow
                      key={j}
                      x={x(s.from)}
                      y={y + inner}
                      width={Math.max(2, x(to) - x(s.from))}
                      height={ROW - inner * 2}
                      className={cls}
                    >
                      <title>
                        {`${nodeId}: ${KIND_LABEL[s.kind]}${s.kind === 'attempt' ? ` ${s.attempt}` : ''}, ${formatDuration(to - s.from)}${s.outcome && s.outcome !== 'running' ? `, ${s.outcome}` : s.to === undefined ? ', still going' : ''}`}
                      </title>
                    </rect>
                  );
                })}
              </g>
            );
          })}
        </svg>
      </section>
    </div>
  );
}

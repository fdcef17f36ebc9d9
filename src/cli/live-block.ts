import { money } from './figures.ts';
import { clip, followedWorkflow, nodeRunTimeMs, type RunView, runTimeMs } from './run-view.ts';

/** How to draw the live block. */
export interface LiveBlockOptions {
  /** The time to draw for (epoch ms): running nodes' times are counted up to it. */
  readonly nowMs: number;
  /**
   * The terminal's width: every line is cut to fit, since a line the terminal wraps takes two
   * rows and the next redraw would erase one too few.
   */
  readonly columns: number;
  /** The most lines the block takes, its heading included. @default 12 */
  readonly maxLines?: number;
  /** Costs come from the scripted model (labelled simulated). @default false */
  readonly simulated?: boolean;
}

/**
 * The live block drawn below the progress lines on a terminal: a heading with the graph's
 * progress (nodes done of all, running, queued for an agent process, waiting for their
 * dependencies, open questions), the run time and the spend so far; then one line per running
 * node with its time and spend and what its agent does, nodes waiting to retry, and the open
 * questions. Empty when there is nothing to show (no workflow yet, or it has ended).
 *
 * A pure function of the view and the time, so every frame can be checked in a unit test.
 */
export function renderLiveBlock(view: RunView, options: LiveBlockOptions): string {
  const wf = followedWorkflow(view);
  if (wf === undefined || wf.endedAt !== undefined) return '';
  const now = options.nowMs;
  const nodes = Object.values(wf.nodes);
  const count = (...statuses: string[]) => nodes.filter((n) => statuses.includes(n.status)).length;
  const done = count('completed', 'failed', 'skipped', 'cancelled');
  const questions = Object.values(wf.inputRequests).sort((a, b) => a.seq - b.seq);
  const spent = `${money(view.metrics.session.costUsd)}${options.simulated ? ' simulated' : ''}`;
  const state = wf.rollingBack ? ' · rolling back' : wf.paused ? ' · paused' : '';
  const heading = [
    `── ${wf.name}${state}`,
    `${done}/${nodes.length} done`,
    `${count('running', 'awaiting_input')} running`,
    ...(count('queued') > 0 ? [`${count('queued')} queued`] : []),
    `${count('pending')} waiting`,
    ...(questions.length > 0 ? [`${questions.length} ${questions.length === 1 ? 'question' : 'questions'}`] : []),
    clockText(runTimeMs(view, now)),
    spent,
  ].join(' · ');

  const asking = new Set(questions.flatMap((q) => (q.nodeId === undefined ? [] : [q.nodeId])));
  const running = nodes
    .filter((n) => (n.status === 'running' || n.status === 'awaiting_input') && !asking.has(n.id))
    .sort((a, b) => (view.nodeStartedAt[a.id] ?? 0) - (view.nodeStartedAt[b.id] ?? 0));
  const retrying = nodes.filter((n) => n.status === 'retry_wait');
  const width = Math.max(
    8,
    ...[...running, ...retrying].map((n) => n.id.length),
    ...[...asking].map((id) => id.length),
  );
  const pad = (id: string) => id.padEnd(width);
  const rows = [
    ...running.map((n) => {
      const figures = view.metrics.workflows[wf.workflowId]?.nodes[n.id];
      const attempt = n.attempts > 1 ? ` (attempt ${n.attempts})` : '';
      const took = clockText(nodeRunTimeMs(view, n.id, now) ?? 0).padStart(6);
      const cost = figures && figures.agents > 0 ? `  ${money(figures.costUsd)}` : '';
      const doing = view.activity[n.id];
      return `  ▸ ${pad(n.id)}${took}${cost}${attempt}${doing ? `  ${clip(doing, 80)}` : ''}`;
    }),
    ...retrying.map((n) => {
      const inMs = (n.retryAt ?? now) - now;
      return `  ↻ ${pad(n.id)}${inMs > 500 ? ` retry in ${clockText(inMs)}` : ' about to run again'}`;
    }),
    ...questions.map(
      (q) =>
        `  ? ${pad(q.nodeId ?? q.requestId)} ${q.kind === 'approval' ? 'approval' : 'question'}: ${clip(q.prompt, 90)}`,
    ),
  ];
  const room = Math.max(1, (options.maxLines ?? 12) - 1);
  const shown = rows.length > room ? [...rows.slice(0, room - 1), `  … and ${rows.length - room + 1} more`] : rows;
  return [heading, ...shown].map((line) => toWidth(line, options.columns)).join('\n');
}

/** A time that changes once a second: `9s`, `2m05s`, `1h02m`. */
export function clockText(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Cut to one terminal row (the last column left free: some terminals wrap on it). */
function toWidth(line: string, columns: number): string {
  const room = Math.max(10, columns - 1);
  return line.length > room ? `${line.slice(0, room - 1)}…` : line;
}

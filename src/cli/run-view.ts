import type { AnyEvent } from '../events/index.ts';
import { applyMetricsEvent, emptyMetrics, type MetricsState } from '../monitor/index.ts';
import { applyEvent, emptySessionState, type SessionState, type WorkflowState } from '../workflow/index.ts';

/**
 * What the terminal knows about a run: a projection of the session's events, folded one event
 * at a time like the engine's own state. It holds the workflow state (node statuses, open
 * questions), the monitor's figures (spend per node and in all) and a run-time clock; the
 * progress lines, the resume summary and the live block are all rendered from it, so each is
 * a function of the events seen and nothing else.
 */
export interface RunView {
  readonly session: SessionState;
  readonly metrics: MetricsState;
  /** The run-time clock (see {@link runTimeMs}). */
  readonly clock: RunClock;
  /** Run time (ms on the clock) at which each node's current attempt started. */
  readonly nodeStartedAt: Record<string, number>;
  /** The node each agent works for. */
  readonly agentNode: Record<string, string>;
  /** The latest thing each running node's agent did (a tool call), for the live block. */
  readonly activity: Record<string, string>;
  /** The workflow this view follows: the session's latest. */
  workflowId: string | undefined;
}

/**
 * Run time excludes the gaps between processes: a run that crashed at 10:00 and was resumed
 * at 14:00 ran for the time its processes worked, not four hours more. The clock runs in
 * segments; each `session.resumed` closes the previous one at its last event of the run and
 * opens a new one. Events a process records before it resumes (the orphan sweep, the lease
 * take-over) or that others record while nobody runs (control requests, versions) do not
 * stretch the segment before them.
 */
export interface RunClock {
  /** Run time of the segments closed so far, in ms. */
  beforeMs: number;
  /** When the open segment started (epoch ms); undefined before the first workflow starts. */
  segmentStart: number | undefined;
  /** The time of the open segment's latest event of the run (epoch ms). */
  lastAt: number | undefined;
}

/** Events that are not the run's own work: they neither end a segment nor extend one. */
const OUTSIDE_THE_RUN: ReadonlySet<string> = new Set([
  'session.taken_over',
  'system.orphans_swept',
  'control.requested',
  'session.versioned',
]);

/** A view with no events. */
export function emptyRunView(sessionId: string): RunView {
  return {
    session: emptySessionState(sessionId),
    metrics: emptyMetrics(sessionId),
    clock: { beforeMs: 0, segmentStart: undefined, lastAt: undefined },
    nodeStartedAt: {},
    agentNode: {},
    activity: {},
    workflowId: undefined,
  };
}

/** Applies one committed event, in place (as the reducers it is made of do), and returns the view. */
export function applyRunEvent(view: RunView, event: AnyEvent): RunView {
  tick(view.clock, event);
  applyEvent(view.session, event);
  applyMetricsEvent(view.metrics, event);
  switch (event.type) {
    case 'workflow.started':
      view.workflowId = event.data.workflowId;
      break;
    case 'node.started':
      view.nodeStartedAt[event.data.nodeId] = runTimeMs(view, Date.parse(event.ts));
      delete view.activity[event.data.nodeId];
      break;
    case 'agent.spawned':
      if (event.data.nodeId !== undefined) view.agentNode[event.data.agentId] = event.data.nodeId;
      break;
    case 'agent.tool_use': {
      const nodeId = view.agentNode[event.data.agentId];
      if (nodeId !== undefined) view.activity[nodeId] = `${event.data.tool} ${describeInput(event.data.input)}`.trim();
      break;
    }
    default:
      break;
  }
  return view;
}

function tick(clock: RunClock, event: AnyEvent): void {
  const at = Date.parse(event.ts);
  if (event.type === 'session.resumed') {
    if (clock.segmentStart !== undefined) clock.beforeMs += (clock.lastAt ?? clock.segmentStart) - clock.segmentStart;
    clock.segmentStart = at;
    clock.lastAt = at;
    return;
  }
  if (OUTSIDE_THE_RUN.has(event.type)) return;
  if (clock.segmentStart === undefined) {
    if (event.type !== 'workflow.started') return;
    clock.segmentStart = at;
  }
  // Max: events of one process are in time order, but a clock step back must not shorten the run.
  clock.lastAt = Math.max(clock.lastAt ?? at, at);
}

/**
 * The run time at `atMs` (epoch ms, in the open segment): the closed segments plus the open
 * one up to then. Without `atMs`, up to the latest event. 0 before the workflow started.
 */
export function runTimeMs(view: RunView, atMs?: number): number {
  const { beforeMs, segmentStart, lastAt } = view.clock;
  if (segmentStart === undefined) return beforeMs;
  return beforeMs + Math.max(0, (atMs ?? lastAt ?? segmentStart) - segmentStart);
}

/** How long a node's current attempt has run (ms), up to `atMs` or the latest event. */
export function nodeRunTimeMs(view: RunView, nodeId: string, atMs?: number): number | undefined {
  const start = view.nodeStartedAt[nodeId];
  return start === undefined ? undefined : runTimeMs(view, atMs) - start;
}

/** The workflow the view follows. */
export function followedWorkflow(view: RunView): WorkflowState | undefined {
  return view.workflowId === undefined ? undefined : view.session.workflows[view.workflowId];
}

/** The main argument of a tool call, for a one-line mention (a path, a command, a pattern). */
export function describeInput(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const record = input as Record<string, unknown>;
  for (const key of ['file_path', 'command', 'path', 'pattern', 'url', 'key', 'question']) {
    if (typeof record[key] === 'string') return record[key] as string;
  }
  return JSON.stringify(input);
}

/** The first few words of a text, on one line. */
export function clip(text: string, max = 70): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

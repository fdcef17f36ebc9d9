import { bool, errorOf, num, str } from './event.ts';
import { type GraphNode, type NodeStatus, TERMINAL } from './graph.ts';
import type { TimelineSpan } from './views.ts';

/**
 * A node's life as the timeline draws it, one `node.*` event at a time: a span per attempt
 * (with its outcome), per wait for a process slot, per wait before a retry; questions are
 * opened and closed by the session model. O(1) an event.
 */

/** The spans of a node, created empty on first use. */
export function spansOf(timeline: Map<string, TimelineSpan[]>, nodeId: string): TimelineSpan[] {
  let spans = timeline.get(nodeId);
  if (!spans) {
    spans = [];
    timeline.set(nodeId, spans);
  }
  return spans;
}

/** Applies a `node.*` event to its node's state and spans (and bumps the node's revision). */
export function applyNodeEvent(
  node: GraphNode,
  spans: TimelineSpan[],
  type: string,
  d: Readonly<Record<string, unknown>>,
  t: number,
): void {
  const attempt = num(d, 'attempt') ?? node.attempts;
  const open = spans.at(-1);
  const closeOpen = (outcome: TimelineSpan['outcome']) => {
    if (open && open.to === undefined && open.kind !== 'question') {
      open.to = t;
      if (open.kind === 'attempt') open.outcome = outcome;
    }
  };
  let status: NodeStatus = node.status;
  switch (type) {
    case 'node.queued':
      closeOpen(undefined);
      spans.push({ kind: 'queued', attempt, from: t, to: undefined, outcome: undefined });
      status = 'queued';
      break;
    case 'node.started':
      closeOpen(undefined);
      node.attempts = attempt;
      node.agentId = str(d, 'agentId') ?? node.agentId;
      node.error = undefined;
      spans.push({ kind: 'attempt', attempt, from: t, to: undefined, outcome: 'running', agentId: node.agentId });
      status = 'running';
      break;
    case 'node.completed':
      closeOpen('completed');
      if (bool(d, 'cached')) node.cached = true;
      node.error = undefined;
      status = 'completed';
      break;
    case 'node.failed': {
      closeOpen('failed');
      node.error = errorOf(d);
      const willRetry = bool(d, 'willRetry') === true;
      if (willRetry) spans.push({ kind: 'retry_wait', attempt, from: t, to: undefined, outcome: undefined });
      status = willRetry ? 'retry_wait' : 'failed';
      break;
    }
    case 'node.interrupted':
      closeOpen('interrupted');
      node.error = { code: 'NODE_INTERRUPTED', message: str(d, 'reason') ?? 'interrupted' };
      status = 'retry_wait';
      break;
    case 'node.skipped':
    case 'node.cancelled':
      closeOpen('cancelled');
      node.reason = str(d, 'reason');
      status = type === 'node.skipped' ? 'skipped' : 'cancelled';
      break;
  }
  if (TERMINAL.has(status)) {
    // A question of the node left open ends with it.
    for (const span of spans) if (span.kind === 'question' && span.to === undefined) span.to = t;
  }
  node.status = status;
  node.rev++;
}

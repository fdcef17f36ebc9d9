import type { AnyEvent } from '../../src/events/index.ts';

/**
 * Invariants of a session's log checked by the CLI tests, as pure functions over events so
 * that they are tested on their own (log-checks.test.ts): each returns the problems it found,
 * one sentence each, and an empty list for a sound log.
 */

/** Problems with sequence numbers and ids: `seq` must run 1..N without gap, ids be unique. */
export function sequenceProblems(events: readonly AnyEvent[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  events.forEach((event, index) => {
    if (event.seq !== index + 1) problems.push(`event #${index + 1} (${event.type}) has seq ${event.seq}`);
    if (ids.has(event.id)) problems.push(`event id ${event.id} (seq ${event.seq}) appears twice`);
    ids.add(event.id);
  });
  return problems;
}

/**
 * The nodes of the session's latest workflow and their kinds: the definition recorded in
 * `workflow.started` plus the nodes added at run time by `workflow.modified`.
 */
export function workflowNodes(events: readonly AnyEvent[]): Map<string, string> {
  const nodes = new Map<string, string>();
  const add = (list: unknown) => {
    for (const node of (list ?? []) as Array<{ id: string; kind?: string }>) nodes.set(node.id, node.kind ?? 'agent');
  };
  for (const event of events) {
    if (event.type === 'workflow.started') {
      nodes.clear();
      add((event.data.definition as { nodes?: unknown }).nodes);
    }
    if (event.type === 'workflow.modified') {
      for (const change of event.data.changes as Array<{ op: string; nodes?: unknown }>) {
        if (change.op === 'add_nodes') add(change.nodes);
      }
    }
  }
  return nodes;
}

const SETTLING = new Set(['node.completed', 'node.failed', 'node.skipped', 'node.cancelled', 'node.interrupted']);

/**
 * What each node was doing once the log ended at `seq` (included): `running` (an attempt had
 * started and not ended), `answered` (running, and its agent's result was already durable),
 * `waiting` (a human or approval node with an open question), or the last event that ended its
 * attempt (`completed`, `failed`...). Nodes never started are absent.
 */
export function nodeActivityAt(events: readonly AnyEvent[], seq: number): Map<string, string> {
  const activity = new Map<string, string>();
  const kinds = workflowNodes(events.filter((e) => e.seq <= seq));
  const askedBy = new Map<string, string>();
  const agentNode = new Map<string, string>();
  for (const event of events) {
    if (event.seq > seq) break;
    const nodeId = (event.data as { nodeId?: string }).nodeId;
    if (event.type === 'agent.spawned' && nodeId) agentNode.set(event.data.agentId, nodeId);
    if (event.type === 'agent.completed') {
      // The agent's answer is durable while its node still runs: a resume must not pay again.
      const node = agentNode.get(event.data.agentId);
      if (node && activity.get(node) === 'running') activity.set(node, 'answered');
    }
    if (event.type === 'node.started' && nodeId) activity.set(nodeId, 'running');
    else if (SETTLING.has(event.type) && nodeId) activity.set(nodeId, event.type.slice('node.'.length));
    else if (event.type === 'input.requested' && nodeId && kinds.get(nodeId) !== 'agent') {
      askedBy.set(event.data.requestId, nodeId);
      activity.set(nodeId, 'waiting');
    } else if (event.type === 'user.input') {
      const asker = event.data.requestId === undefined ? undefined : askedBy.get(event.data.requestId);
      if (asker && activity.get(asker) === 'waiting') activity.set(asker, 'running');
    }
  }
  return activity;
}

/**
 * Problems with the log of a run killed once its log ended at `killSeq`, then resumed to
 * completion: contiguous seqs; the resume was recorded; every node completed exactly once and
 * the workflow completed; no node completed before the kill started again after it; every
 * node caught mid-attempt by the kill was recorded as interrupted (a node waiting for a
 * human is not: its question is awaited again, never asked twice; a node whose agent's result
 * was durable is not either: it completes from that result, and no agent is paid again).
 */
export function recoveryProblems(events: readonly AnyEvent[], killSeq: number): string[] {
  const problems = sequenceProblems(events);
  const after = events.filter((e) => e.seq > killSeq);
  const before = events.filter((e) => e.seq <= killSeq);
  if (before.some((e) => e.type === 'workflow.completed'))
    problems.push(`the workflow had completed by seq ${killSeq}, before the kill`);
  if (!after.some((e) => e.type === 'session.resumed')) problems.push('no session.resumed after the kill');

  const nodeEvents = (type: string, list: readonly AnyEvent[], nodeId: string) =>
    list.filter((e) => e.type === type && (e.data as { nodeId?: string }).nodeId === nodeId);
  for (const nodeId of workflowNodes(events).keys()) {
    const completions = nodeEvents('node.completed', events, nodeId).length;
    if (completions !== 1) problems.push(`node ${nodeId} has ${completions} node.completed events`);
  }
  const finals = events.filter((e) => e.type === 'workflow.completed');
  if (finals.length !== 1) problems.push(`${finals.length} workflow.completed events`);
  else if (finals[0]?.type === 'workflow.completed' && finals[0].data.status !== 'completed') {
    problems.push(`the workflow ended ${finals[0].data.status}`);
  }

  for (const [nodeId, doing] of nodeActivityAt(events, killSeq)) {
    if (doing === 'completed' && nodeEvents('node.started', after, nodeId).length > 0) {
      problems.push(`node ${nodeId} completed before the kill and started again after it`);
    }
    if (doing === 'running' && nodeEvents('node.interrupted', after, nodeId).length === 0) {
      problems.push(`node ${nodeId} was running at the kill and has no node.interrupted after it`);
    }
    if (doing === 'answered') {
      if (nodeEvents('agent.spawned', after, nodeId).length > 0)
        problems.push(`node ${nodeId}'s agent result was durable at the kill, yet an agent was paid again after it`);
      if (nodeEvents('node.interrupted', after, nodeId).length > 0)
        problems.push(`node ${nodeId}'s agent result was durable at the kill, yet it was recorded interrupted`);
    }
    if (doing === 'waiting' && nodeEvents('input.requested', after, nodeId).length > 0) {
      problems.push(`node ${nodeId} was asked its question again after the kill`);
    }
  }
  return problems;
}

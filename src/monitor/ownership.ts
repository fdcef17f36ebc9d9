import type { AnyEvent } from '../events/index.ts';
import { elapsed, scopesOf } from './agent-metrics.ts';
import { noSpend, observeIn } from './figures.ts';
import type { MetricsState, Span } from './metrics-state.ts';

/**
 * The figures' view of who runs a session. A process that dies (SIGKILL, a crash, a lost
 * machine) records nothing more: its agents never end in the log, and the time until the next
 * owner takes over is a gap in which nothing ran. These functions keep both out of the figures:
 * when a new owner takes the session up (or a copy of it starts a life of its own), the agents
 * left unended are ended as interrupted at the previous owner's last event, and the gap is
 * recorded as downtime, which durations leave out.
 */

/**
 * Events that mark a new owner (or a new session made from a copy) taking a session up: what
 * came before them was a previous owner's.
 */
const TAKEN_UP = new Set(['session.taken_over', 'session.resumed', 'session.forked', 'session.imported']);

/**
 * Events that may be recorded from outside the owner (another shell, the API, a process that
 * swept a dead one's leftovers): they say nothing about an owner being alive.
 */
const FROM_OUTSIDE = new Set(['control.requested', 'session.versioned', 'system.orphans_swept']);

/**
 * Applies what an event says about ownership. Called for every event before its own effect:
 * a taking-up event closes the previous owner's span (its agents ended, the gap recorded);
 * any other event of an owner moves the end of the current span on.
 */
export function observeOwnership(state: MetricsState, event: AnyEvent): void {
  if (TAKEN_UP.has(event.type)) {
    const from = state.lastOwnedAt;
    if (from !== undefined) {
      addSpan(state.downtime, from, event.ts);
      endAgentsOfGoneOwner(state, from);
    }
    return;
  }
  if (FROM_OUTSIDE.has(event.type)) return;
  if (state.lastOwnedAt === undefined || event.ts > state.lastOwnedAt) state.lastOwnedAt = event.ts;
}

/**
 * The figures once the process that ran the session is known to be gone (its lease lapsed or
 * its pid is dead) and nobody has taken it up yet: its agents ended as interrupted at its last
 * event, and its unfinished workflows `interrupted` (resumable). Changes `state` in place.
 */
export function settleGoneOwner(state: MetricsState): MetricsState {
  const at = state.lastOwnedAt ?? state.lastAt;
  if (at !== undefined) endAgentsOfGoneOwner(state, at);
  for (const wf of Object.values(state.workflows)) {
    if (wf.endedAt === undefined && wf.status !== 'paused') wf.status = 'interrupted';
  }
  return state;
}

/** Milliseconds of `spans` that fall between `from` and `to`. */
export function downtimeWithin(spans: readonly Span[], from: string, to: string): number {
  const start = Date.parse(from);
  const end = Date.parse(to);
  let total = 0;
  for (const span of spans) {
    const overlap = Math.min(end, Date.parse(span.to)) - Math.max(start, Date.parse(span.from));
    if (overlap > 0) total += overlap;
  }
  return total;
}

/** Wall time from `from` to `to` less the downtime within it. */
export function ownedElapsed(state: MetricsState, from: string, to: string): number {
  const wall = elapsed(from, to);
  return state.downtime.length === 0 ? wall : Math.max(0, wall - downtimeWithin(state.downtime, from, to));
}

/**
 * Ends every agent with no outcome yet: interrupted at `at` (its process died with its owner).
 * An interruption in each of its scopes, its time so far, and what it had spent (kept in the
 * figures, from its responses) noted as never reported by Claude Code.
 */
function endAgentsOfGoneOwner(state: MetricsState, at: string): void {
  for (const agent of Object.values(state.agents)) {
    if (agent.endedAt !== undefined) continue;
    if (agent.active) {
      agent.active = false;
      state.session.activeAgents--;
    }
    const unreported = agent.live.costUsd;
    if (unreported > 0) agent.unreportedUsd = (agent.unreportedUsd ?? 0) + unreported;
    agent.live = { ...noSpend(), responses: 0 };
    agent.attempts++;
    agent.state = 'interrupted';
    agent.outcome = 'interrupted';
    agent.endedAt = at;
    const took = elapsed(agent.spawnedAt, at);
    for (const figures of scopesOf(state, agent.agentId)) {
      figures.interruptions++;
      observeIn(figures, 'agentTime', took);
    }
  }
}

/** Adds a span, merged with the last one when they overlap (a resume right after a takeover). */
function addSpan(spans: Span[], from: string, to: string): void {
  if (Date.parse(to) <= Date.parse(from)) return;
  const last = spans.at(-1);
  if (last && Date.parse(from) <= Date.parse(last.to)) {
    if (Date.parse(to) > Date.parse(last.to)) last.to = to;
    return;
  }
  spans.push({ from, to });
}
